"""Starting the processes a benchmark measures: a jqm-node, or the bare aiohttp baseline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import yaml

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


@contextlib.contextmanager
def jqm_node(
    workdir: Path,
    config: dict[str, object],
    *,
    ip: str = HOST,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """Yields (base URL, pid) of a node started with ``config``."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    url = f"http://{ip}:{port}"
    command = [sys.executable, "-m", "jqm_node", "--ip", ip, "--listen", f"{ip}:{port}"]
    command += ["--config", str(config_path), "--workdir", str(workdir / "work")]
    env = {"JQM_LOG_LEVEL": "WARNING", "JQM_SHUTDOWN_GRACE": "5", **(env or {})}
    with _process(command, f"{url}/ws/simple/localnode/health", env) as pid:
        yield url, pid


@contextlib.contextmanager
def bare_aiohttp() -> Iterator[tuple[str, int]]:
    """Yields (base URL, pid) of the baseline: aiohttp parsing the same form into a dict."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    with _process([sys.executable, "-m", "bench.bare_app", HOST, str(port)], f"{url}/health") as pid:
        yield url, pid
