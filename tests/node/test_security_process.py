"""A real node's security settings: management listener, auth on and off, users reload, hash-password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.node.conftest import (
    MANAGEMENT_TOKEN,
    TEST_ITERATIONS,
    StartNode,
    free_port,
    http,
    shell_job,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def run_node(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JQM_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "jqm_node", *args], input=stdin, capture_output=True, text=True, timeout=60,
        env=environment, check=False,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------- management


def test_drain_and_undrain_need_the_management_token(start_node: StartNode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    node = start_node(config={"jobDefinitions": [shell_job("Wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")]})
    status = json.loads(node.manage("GET", "/node/status", token=None)[2])
    assert status["draining"] is False and status["drainReason"] is None and status["auth"] is True
    for token in (None, "wrong", MANAGEMENT_TOKEN + "x"):
        code, headers, body = node.manage("POST", "/node/drain", token=token)
        assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer"), body
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 200, "refused drains changed nothing"
    code, _, body = node.manage("POST", "/node/drain", data=json.dumps({"reason": "operator: id-limit"}).encode())
    assert code == 202 and json.loads(body)["drainReason"] == "operator: id-limit"
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    node.manage("POST", "/node/drain", data=b'{"reason": "someone else"}')
    assert json.loads(node.manage("GET", "/node/status")[2])["drainReason"] == "operator: id-limit"
    assert node.manage("POST", "/node/undrain", token="wrong")[0] == 401
    code, _, body = node.manage("POST", "/node/undrain")
    assert code == 200 and json.loads(body)["draining"] is False and json.loads(body)["drainReason"] is None
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 200
    assert node.wait_state(node.enqueue("Wait"), "RUNNING") == "RUNNING"
    gate.touch()


def test_the_management_token_through_the_api_server_proxy(start_node: StartNode) -> None:
    """The operator's proxy transport sends the token as X-Jqm-Management-Token (the API server removes
    Authorization); a wrong one is refused like a wrong bearer."""
    node = start_node()
    url = f"http://{node.ip}:{node.management_port}/node/drain"
    assert http("POST", url, headers={"X-Jqm-Management-Token": "wrong"})[0] == 401
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 200
    assert http("POST", url, headers={"X-Jqm-Management-Token": MANAGEMENT_TOKEN})[0] == 202
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"reason": 5}',
        b'{"reason": ""}',
        b"[1]",
        b'{"reason": "a\\nb"}',
        b'{"reason": "' + b"x" * 201 + b'"}',
    ],
)
def test_bad_drain_bodies_are_refused_and_change_nothing(start_node: StartNode, body: bytes) -> None:
    node = start_node()
    code, _, reply = node.manage("POST", "/node/drain", data=body)
    assert code == 400 and b"reason" in reply
    assert json.loads(node.manage("GET", "/node/status")[2])["draining"] is False


def test_without_a_token_file_drain_is_forbidden(start_node: StartNode, tmp_path: Path) -> None:
    node = start_node(env={"JQM_MANAGEMENT_TOKEN_FILE": ""})
    code, _, body = node.manage("POST", "/node/drain", token="anything")
    assert code == 403 and b"management token not configured" in body
    assert node.manage("GET", "/metrics")[0] == 200


def test_undrain_of_a_stopping_node_is_a_conflict(start_node: StartNode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    node = start_node(config={"jobDefinitions": [shell_job("Wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")]})
    node.wait_state(node.enqueue("Wait"), "RUNNING")
    node.manage("POST", "/node/drain", data=b'{"reason": "operator: id-limit"}')
    node.process.send_signal(signal.SIGTERM)
    wait_until(lambda: json.loads(node.manage("GET", "/node/status")[2])["stopping"], what="stopping in the status")
    code, _, body = node.manage("POST", "/node/undrain")
    assert code == 409 and b"stopping" in body
    status = json.loads(node.manage("GET", "/node/status")[2])
    assert (status["draining"], status["drainReason"]) == (True, "sigterm"), "the node drains because of SIGTERM now"
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    gate.touch()
    assert node.process.wait(timeout=30) == 0


def test_management_listens_on_loopback_by_default(tmp_path: Path) -> None:
    result = run_node("--help")
    assert "JQM_MANAGEMENT_LISTEN" in result.stdout and "127.0.0.1:1790" in result.stdout


# ---------------------------------------------------------------------------------------- auth modes


def test_auth_on_without_users_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = run_node("--ip", "127.0.0.1", "--listen", f"127.0.0.1:{free_port()}", "--workdir", str(tmp_path))
    assert result.returncode == 2
    assert "--users FILE" in result.stderr and "--auth off" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--auth", "maybe"], "expected on or off"),
        (["--users", "/nonexistent/users.yaml"], "cannot read"),
        (["--auth", "off", "--peers", "127.0.0.3", "--cluster-secret-file", "/nonexistent"], "no such file"),
        (["--auth", "off", "--management-listen", "nowhere"], "expected HOST:PORT"),
        (["--auth", "off", "--tls-cert-file", "/etc/hostname"], "TLS needs both"),
        (["--auth", "off", "--header-timeout", "0"], "greater than 0"),
        (["--auth", "off", "--max-input-files", "many"], "expected a whole number"),
    ],
)
def test_bad_security_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["--ip", "127.0.0.1", "--listen", f"127.0.0.1:{free_port()}", "--workdir", str(tmp_path)]
    result = run_node(*base, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_auth_on_with_peers_needs_a_cluster_secret(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users: []\n")
    base = ["--ip", "127.0.0.1", "--listen", f"127.0.0.1:{free_port()}", "--workdir", str(tmp_path)]
    result = run_node(*base, "--users", str(users), "--peers", "127.0.0.3")
    assert result.returncode == 2 and "JQM_CLUSTER_SECRET_FILE" in result.stderr
    short = tmp_path / "secret"
    short.write_text("short")
    result = run_node(*base, "--users", str(users), "--peers", "127.0.0.3", "--cluster-secret-file", str(short))
    assert result.returncode == 2 and "at least 16 bytes" in result.stderr


def test_auth_off_is_open_and_says_so(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]}, env={"JQM_AUTH": "off"})
    assert node.request("POST", "/ws/simple/ji", data=b"applicationname=T", auth=None)[0] == 200
    assert node.request("GET", "/ws/simple/enginelog", auth=None)[0] == 200
    assert json.loads(node.manage("GET", "/node/status")[2])["auth"] is False
    log = node.log_path.read_text()
    assert "WARNING" in log and "AUTHENTICATION IS OFF" in log


def test_a_job_of_an_open_node_gets_no_credential(start_node: StartNode) -> None:
    dump = f"{sys.executable} -c 'import os; print(repr(os.environ[\"JQM_API_LOGIN\"]))'"
    node = start_node(config={"jobDefinitions": [shell_job("Env", dump)]}, env={"JQM_AUTH": "off"})
    job_id = node.enqueue("Env")
    node.wait_state(job_id, "ENDED")
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2] == b"''\n"


# ---------------------------------------------------------------------------------------- users


def test_users_file_reloads_on_a_symlink_swap(start_node: StartNode, tmp_path: Path) -> None:
    mount = tmp_path / "secret-mount"
    mount.mkdir()
    for generation, password in (("..v1", "first-password"), ("..v2", "second-password")):
        (mount / generation).mkdir()
        hashed = run_node("hash-password", "--iterations", str(TEST_ITERATIONS), stdin=password + "\n").stdout.strip()
        document = {"users": [{"name": "ops", "passwordHash": hashed, "roles": ["client read only"]}]}
        (mount / generation / "users.yaml").write_text(yaml.safe_dump(document))
    (mount / "..data").symlink_to("..v1")
    (mount / "users.yaml").symlink_to("..data/users.yaml")
    node = start_node(env={"JQM_USERS": str(mount / "users.yaml")})
    assert node.request("GET", "/ws/client/q", auth=("ops", "first-password"))[0] == 200
    assert node.request("GET", "/ws/client/q", auth=("admin", "admin-secret"))[0] == 401, "only the given file"
    (mount / "..tmp").symlink_to("..v2")
    os.replace(mount / "..tmp", mount / "..data")
    wait_until(
        lambda: node.request("GET", "/ws/client/q", auth=("ops", "second-password"))[0] == 200,
        what="the new password accepted",
    )
    assert node.request("GET", "/ws/client/q", auth=("ops", "first-password"))[0] == 401
    (mount / "..v3").mkdir()
    (mount / "..v3" / "users.yaml").write_text("users: [")  # a broken update keeps the users loaded before
    (mount / "..tmp").symlink_to("..v3")
    os.replace(mount / "..tmp", mount / "..data")

    def broken_update_seen() -> bool:  # files are checked when requests come (at most once a second)
        assert node.request("GET", "/ws/client/q", auth=("ops", "second-password"))[0] == 200
        return "cannot be used, keeping the users loaded before" in node.log_path.read_text()

    wait_until(broken_update_seen, what="the broken update logged")
    assert "second-password" not in node.log_path.read_text()


def test_hash_password_prints_the_documented_format() -> None:
    result = run_node("hash-password", stdin="correct horse\n")
    assert result.returncode == 0, result.stderr
    algorithm, iterations, salt, digest = result.stdout.strip().split("$")
    assert (algorithm, iterations) == ("pbkdf2-sha256", "600000") and salt.endswith("=") and len(digest) == 44
    assert run_node("hash-password", stdin="\n").returncode == 2
    assert run_node("hash-password", "--iterations", "0", stdin="x\n").returncode == 2


def test_the_simple_api_enqueues_as_the_caller_by_default(start_node: StartNode) -> None:
    """As upstream's ServiceSimple: no ``user`` field means the authenticated user."""
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]})
    mine = node.enqueue("T")
    theirs = node.enqueue("T", user="someone")
    users = [
        json.loads(node.request("GET", f"/ws/client/ji/{job_id}", headers={"Accept": "application/json"})[2])["user"]
        for job_id in (mine, theirs)
    ]
    assert users == ["admin", "someone"]
