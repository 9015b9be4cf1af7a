"""Starting the processes a benchmark measures: a jqm-node, or the bare aiohttp baseline."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from jqm_node.auth.passwords import hash_password

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).read()
            return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


@contextlib.contextmanager
def _process(command: list[str], health_url: str, env: dict[str, str] | None = None) -> Iterator[int]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    try:
        _wait_http(health_url, process)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


BENCH_USER = ("bench", "bench-password-0123456789")
CLUSTER_SECRET = "bench-cluster-secret-0123456789"


@dataclass(frozen=True, slots=True)
class BenchNode:
    url: str
    pid: int
    management_url: str
    headers: dict[str, str]
    """What every client request sends: the bench user's Basic credentials when auth is on."""


def _auth_files(workdir: Path) -> dict[str, str]:
    """A users file with the bench user (hashed as jqm-node hash-password does) and a cluster secret."""
    users, secret = workdir / "users.yaml", workdir / "cluster-secret"
    entry = {"name": BENCH_USER[0], "passwordHash": hash_password(BENCH_USER[1]), "roles": ["administrator"]}
    users.write_text(yaml.safe_dump({"users": [entry]}))
    secret.write_text(CLUSTER_SECRET)
    return {"JQM_USERS": str(users), "JQM_CLUSTER_SECRET_FILE": str(secret)}


@contextlib.contextmanager
def jqm_node(
    workdir: Path,
    config: dict[str, object],
    *,
    ip: str = HOST,
    port: int | None = None,
    env: dict[str, str] | None = None,
    auth: bool = True,
) -> Iterator[BenchNode]:
    """A node started with ``config``, with authentication on (the default) or off."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    url = f"http://{ip}:{port}"
    management = f"{ip}:{free_port()}"
    command = [sys.executable, "-m", "jqm_node", "--ip", ip, "--listen", f"{ip}:{port}"]
    command += ["--config", str(config_path), "--workdir", str(workdir / "work"), "--management-listen", management]
    security = _auth_files(workdir) if auth else {"JQM_AUTH": "off"}
    env = {"JQM_LOG_LEVEL": "WARNING", "JQM_SHUTDOWN_GRACE": "5", **security, **(env or {})}
    headers = {"Authorization": "Basic " + base64.b64encode(":".join(BENCH_USER).encode()).decode()} if auth else {}
    with _process(command, f"{url}/ws/simple/localnode/health", env) as pid:
        yield BenchNode(url=url, pid=pid, management_url=f"http://{management}", headers=headers)


@contextlib.contextmanager
def bare_aiohttp() -> Iterator[tuple[str, int]]:
    """Yields (base URL, pid) of the baseline: aiohttp parsing the same form into a dict."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with _process([sys.executable, "-m", "bench.bare_app", HOST, str(port)], f"{url}/health") as pid:
        yield url, pid
