"""Fixtures that run real ``jqm-node`` processes on loopback and talk to them over real HTTP.

Every test node runs with authentication on, the users of :data:`USERS` (one per built-in role),
a management token and a cluster secret shared by all test nodes; :meth:`RunningNode.request`
authenticates as ``admin`` unless told otherwise, :meth:`RunningNode.manage` calls the management
listener with the token. Membership, the ID ledger and the journal come from ``env`` (``JQM_PEERS``,
``JQM_ID_LEDGER``, ``JQM_JOURNAL``...); without them a node is alone, with its ledger and journal in
its work directory. Tests of several nodes take addresses from :func:`loopback_addresses`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from jqm_node.auth.passwords import hash_password
from tests.waiting import wait_until

STARTUP_TIMEOUT = 15.0
TEST_ITERATIONS = 1000  # fast hashes for tests; real users get jqm-node hash-password's default
USERS = {  # name -> (password, roles)
    "admin": ("admin-secret", ["administrator"]),
    "client": ("client-secret", ["client"]),
    "power": ("power-secret", ["client power user"]),
    "reader": ("reader-secret", ["client read only"]),
    "viewer": ("viewer-secret", ["config viewer"]),
    "configadmin": ("configadmin-secret", ["config admin"]),
    "nobody": ("nobody-secret", []),
}
ADMIN = ("admin", USERS["admin"][0])
MANAGEMENT_TOKEN = "test-management-token"
CLUSTER_SECRET = "test-cluster-secret-shared-by-all-test-nodes"
_USERS_YAML = yaml.safe_dump(
    {
        "users": [
            {"name": name, "passwordHash": hash_password(password, iterations=TEST_ITERATIONS), "roles": roles}
            for name, (password, roles) in USERS.items()
        ]
    }
)
Credentials = tuple[str, str] | None


def basic(credentials: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


def loopback_addresses(count: int) -> tuple[str, ...]:
    """``count`` addresses of one random 127.X.Y.0/24 (not 127.0.0.x, which other suites use at the same time)."""
    x, y = random.randint(1, 254), random.randint(0, 254)
    return tuple(f"127.{x}.{y}.{host}" for host in range(2, 2 + count))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class RunningNode:
    """A node process and the helpers tests need to reach it."""

    ip: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    management_port: int = 0
    tls: ssl.SSLContext | None = None
    """Set for a node listening with TLS: what the tests trust."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.ip}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: Credentials = ADMIN,
        timeout: float = 30,
    ) -> tuple[int, dict[str, str], bytes]:
        """A call to the client listener, as ``auth`` (Basic) unless ``headers`` has an Authorization."""
        headers = dict(headers or {})
        if auth is not None and "Authorization" not in headers:
            headers["Authorization"] = basic(auth)
        return http(method, self.url + path, data=data, headers=headers, context=self.tls, timeout=timeout)

    def manage(
        self, method: str, path: str, *, data: bytes | None = None, token: str | None = MANAGEMENT_TOKEN
    ) -> tuple[int, dict[str, str], bytes]:
        """A call to the management listener, with the management token unless ``token`` is None."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        if data is not None:
            headers["Content-Type"] = "application/json"
        scheme = "https" if self.tls else "http"
        return http(
            method, f"{scheme}://{self.ip}:{self.management_port}{path}", data=data, headers=headers, context=self.tls
        )

    def enqueue(self, application: str, **fields: str | list[str]) -> int:
        form: list[tuple[str, str]] = [("applicationname", application)]
        for key, value in fields.items():
            form += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
        status, _, body = self.request(
            "POST",
            "/ws/simple/ji",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200, body
        return int(body)

    def state(self, job_id: int) -> str:
        status, _, body = self.request("GET", f"/ws/simple/status?id={job_id}")
        assert status == 200, body
        return body.decode()

    def wait_state(self, job_id: int, *states: str, timeout: float = 20.0) -> str:
        """The state of the job once it is one of ``states``."""
        return wait_until(
            lambda: (state := self.state(job_id)) in states and state, what=f"job {job_id} in {states}", timeout=timeout
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def http(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
    **options: Any,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; error statuses are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, **options) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def write_secrets(directory: Path) -> dict[str, Path]:
    """The users file, management token and cluster secret every test node gets, in ``directory``."""
    files = {
        "users": directory / "users.yaml",
        "token": directory / "management-token",
        "secret": directory / "cluster-secret",
    }
    files["users"].write_text(_USERS_YAML)
    files["token"].write_text(MANAGEMENT_TOKEN + "\n")
    files["secret"].write_text(CLUSTER_SECRET)
    return files


def alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_healthy(node: RunningNode) -> None:
    def healthy() -> bool:
        if node.process.poll() is not None:
            raise AssertionError(f"jqm-node exited with {node.process.returncode}:\n{node.log_path.read_text()}")
        with contextlib.suppress(OSError):
            return node.request("GET", "/ws/simple/localnode/health")[0] == 200
        return False

    try:
        wait_until(healthy, what="jqm-node healthy", timeout=STARTUP_TIMEOUT)
    except AssertionError as e:
        raise AssertionError(f"{e}:\n{node.log_path.read_text()}") from None


def launch_node(
    workdir: Path,
    *,
    config: dict[str, Any] | None = None,
    ip: str = "127.0.0.1",
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> RunningNode:
    """Starts a node process in ``workdir`` (its log beside it) and waits until it is healthy.

    The node gets the test users, management token and cluster secret (options given in ``args``
    or ``env`` come later or win, e.g. ``env={"JQM_AUTH": "off"}``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(ip)
    management_port = free_port(ip)
    secrets = write_secrets(workdir.parent)
    command = [sys.executable, "-m", "jqm_node", "--ip", ip, "--listen", f"{ip}:{port}", "--workdir", str(workdir)]
    command += ["--management-listen", f"{ip}:{management_port}"]
    env = env or {}
    for option, variable, value in (
        ("--users", "JQM_USERS", secrets["users"]),
        ("--management-token-file", "JQM_MANAGEMENT_TOKEN_FILE", secrets["token"]),
        ("--cluster-secret-file", "JQM_CLUSTER_SECRET_FILE", secrets["secret"]),
    ):
        if variable not in env:
            command += [option, str(value)]
    if config is not None:
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        command += ["--config", str(config_path)]
    command += args or []
    log_path = workdir.with_suffix(".log")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JQM_")}
    environment.update({"JQM_KILL_GRACE": "2", "JQM_SHUTDOWN_GRACE": "10"}, **env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    node = RunningNode(
        ip=ip, port=port, workdir=workdir, process=process, log_path=log_path, management_port=management_port, tls=tls
    )
    try:
        _wait_healthy(node)
    except AssertionError:
        stop_node(node)
        raise
    return node


def stop_node(node: RunningNode) -> None:
    """SIGTERM, then SIGKILL if the node has not exited after 20 s."""
    if node.process.poll() is None:
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


StartNode = Callable[..., RunningNode]


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[StartNode]:
    """Factory: ``start_node(config={...}, ip="127.0.0.2", port=None, env={...}, args=[...])``."""
    nodes: list[RunningNode] = []

    def start(**options: Any) -> RunningNode:
        node = launch_node(tmp_path / f"node{len(nodes)}", **options)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        stop_node(node)


def shell_job(name: str, command: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": command, "pathType": "DEFAULTSHELLCOMMAND", **extra}
