"""A real ``jqm-node`` process on loopback for the client's integration tests, and clients of it.

The node runs with authentication on (its default): ``node_auth`` writes a users file with one
administrator, and every test calls as that user.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from jqm_client import BasicAuth, JqmClient
from jqm_node.auth.passwords import hash_password
from tests.waiting import wait_until

NODE_IP = "127.0.0.61"
STARTUP_SECONDS = 15.0

JOBS = [
    # Parameter values are appended to the command: the last echo prints them.
    {"name": "Echo", "path": "echo out; echo err >&2; echo", "parameters": {"p1": "default"}},
    {"name": "Fail", "path": "echo failing; exit 3"},
    {"name": "Slow", "path": "sleep 60"},
    {"name": "Ticker", "path": 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.3; done'},
    {"name": "Deliver", "path": 'printf "%s" "payload of $JQM_JI_ID" > "$JQM_JI_DELIVERY_DIR/result.txt"'},
    {"name": "NoRestart", "path": "exit 1", "canBeRestarted": False},
]


@dataclass(frozen=True)
class NodeAuth:
    args: list[str]
    credentials: BasicAuth | None


ADMIN_PASSWORD = "client-tests-admin"


def node_auth(workdir: Path) -> NodeAuth:
    """A users file with one administrator (a cheap hash: tests only), and the node arguments to use it."""
    users = workdir / "users.yaml"
    password_hash = hash_password(ADMIN_PASSWORD, iterations=1000)
    users.write_text(
        yaml.safe_dump({"users": [{"name": "admin", "passwordHash": password_hash, "roles": ["administrator"]}]})
    )
    management = f"{NODE_IP}:{_free_port(NODE_IP)}"
    return NodeAuth(
        args=["--users", str(users), "--management-listen", management], credentials=BasicAuth("admin", ADMIN_PASSWORD)
    )


@dataclass(frozen=True)
class Node:
    url: str
    auth: BasicAuth | None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"{url}/ws/simple/localnode/health", timeout=2) as answer,
    ):
        return bool(answer.status == 200)
    return False


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One node per test module, with the jobs of ``JOBS`` (shell commands)."""
    workdir = tmp_path_factory.mktemp("client-node")
    auth = node_auth(workdir)
    config = workdir / "config.yaml"
    jobs = [{"pathType": "DEFAULTSHELLCOMMAND", **job} for job in JOBS]
    config.write_text(yaml.safe_dump({"jobDefinitions": jobs}))
    port = _free_port(NODE_IP)
    command = [sys.executable, "-m", "jqm_node", "--ip", NODE_IP, "--listen", f"{NODE_IP}:{port}"]
    command += ["--workdir", str(workdir / "work"), "--config", str(config), *auth.args]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JQM_")} | {"JQM_KILL_GRACE": "2"}
    log = workdir / "node.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    url = f"http://{NODE_IP}:{port}"
    try:

        def started() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"jqm-node exited with {process.returncode}:\n{log.read_text()}")
            return _healthy(url)

        try:
            wait_until(started, what="jqm-node healthy", timeout=STARTUP_SECONDS)
        except AssertionError as e:
            raise AssertionError(f"{e}:\n{log.read_text()}") from None
        yield Node(url=url, auth=auth.credentials)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def jqm(node: Node) -> Iterator[JqmClient]:
    with JqmClient(node.url, auth=node.auth) as client:
        yield client
