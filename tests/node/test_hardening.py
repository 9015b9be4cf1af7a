"""What an attacker with access to port 1789 tried, and what a node now answers (raw sockets on loopback)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from jqm_node.ids import id_base
from tests.node.conftest import ADMIN, RunningNode, StartNode, basic, shell_job

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json", "Accept": "application/json"}
XML = {"Content-Type": "application/xml", "Accept": "application/json"}
DEADLINE = 15.0  # seconds a test waits at most for the node to drop a connection


def connect(node: RunningNode) -> socket.socket:
    sock = socket.create_connection((node.ip, node.port), timeout=DEADLINE)
    sock.settimeout(DEADLINE)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the node sends until it closes; raises TimeoutError if it keeps the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.fixture
def strict_node(start_node: StartNode) -> RunningNode:
    return start_node(
        config={"jobDefinitions": [shell_job("T", "true")]}, env={"JQM_HEADER_TIMEOUT": "1", "JQM_BODY_TIMEOUT": "1"}
    )


def test_slow_header_clients_are_dropped(strict_node: RunningNode) -> None:
    sockets = [connect(strict_node) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /ws/simple/localnode/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for sock in sockets:
            assert read_until_closed(sock) == b"", "dropped without an answer"
    finally:
        for sock in sockets:
            sock.close()
    with connect(strict_node) as idle:  # a connection that never sends anything, too
        assert read_until_closed(idle) == b""
    assert strict_node.request("GET", "/ws/simple/localnode/health")[0] == 200


def test_slow_body_clients_get_408_and_are_dropped(strict_node: RunningNode) -> None:
    with connect(strict_node) as sock:
        head = (
            f"POST /ws/client/ji HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(ADMIN)}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"applicationName": "T"')
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1s" in answer
    assert "internal error" not in strict_node.log_path.read_text()


def test_a_kept_alive_client_is_served_until_idle(strict_node: RunningNode) -> None:
    with connect(strict_node) as sock:
        for _ in range(3):
            sock.sendall(b"GET /ws/simple/localnode/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert read_until_closed(sock) == b"", "closed once idle for the header timeout"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"<a>" * 5000 + b"</a>" * 5000, XML),
        (b"<a>" * 100 + b"</a>" * 100, XML),
        (b'<!DOCTYPE x [<!ENTITY e "lol">]><jobRequest><applicationName>&e;</applicationName></jobRequest>', XML),
        (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><jobRequest/>', XML),
        (b"[" * 100_000 + b"]" * 100_000, JSON),
        (json.dumps({"applicationName": "T", "parentJobId": 10**26}).encode(), JSON),
        (json.dumps({"applicationName": "T", "parentJobId": -1}).encode(), JSON),
    ],
    ids=["xml-deep", "xml-over-32", "xml-entity", "xml-external", "json-deep", "parent-too-big", "parent-negative"],
)
def test_hostile_bodies_are_400_never_500(strict_node: RunningNode, body: bytes, headers: dict[str, str]) -> None:
    status, _, reply = strict_node.request("POST", "/ws/client/ji", data=body, headers=headers)
    assert status == 400, reply
    assert json.loads(reply)["errorCode"] in (6, 10)


def test_bodies_over_one_mebibyte_are_refused(strict_node: RunningNode) -> None:
    body = json.dumps({"applicationName": "T", "keyword1": "x" * 2**20}).encode()
    status, _, reply = strict_node.request("POST", "/ws/client/ji", data=body, headers=JSON)
    assert status == 413, reply


def test_pathological_like_patterns_are_answered(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]})
    for _ in range(20):
        node.enqueue("T", keyword1="a" * 200)
    query = {"instanceKeyword1": "%a" * 40 + "%b", "queryLiveInstances": True}
    status, _, reply = node.request("POST", "/ws/client/ji/query", data=json.dumps(query).encode(), headers=JSON)
    assert status == 200 and json.loads(reply)["resultSize"] == 0


def test_input_files_are_limited_per_job(start_node: StartNode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    node = start_node(
        config={
            "queues": [{"name": "one", "maxThreads": 1}],
            "jobDefinitions": [shell_job("Wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")],
        },
        env={"JQM_MAX_INPUT_FILES": "2", "JQM_MAX_INPUT_BYTES": "10"},
    )
    job_id = node.enqueue("Wait")
    node.wait_state(job_id, "RUNNING")
    waiting = node.enqueue("Wait")
    path = f"/ws/client/ji/{waiting}/files"
    octets = {"Content-Type": "application/octet-stream"}
    assert node.request("POST", f"{path}/a.txt", data=b"12345", headers=octets)[0] == 200
    assert node.request("POST", f"{path}/a.txt", data=b"123456", headers=octets)[0] == 200, "a replacement"
    status, _, body = node.request("POST", f"{path}/b.txt", data=b"12345", headers=octets)
    assert status == 413 and b"JQM_MAX_INPUT_BYTES" in body
    assert node.request("POST", f"{path}/b.txt", data=b"1234", headers=octets)[0] == 200
    status, _, body = node.request("POST", f"{path}/c.txt", data=b"", headers=octets)
    assert status == 400 and b"at most 2 input files" in body
    for name in ("..", ".jqm-upload-x", "a%2Fb"):
        assert node.request("POST", f"{path}/{name}", data=b"x", headers=octets)[0] in (400, 404)
    inputs = node.workdir / "inputs" / str(waiting)
    assert sorted(p.name for p in inputs.iterdir()) == ["a.txt", "b.txt"], "nothing left of refused files"
    gate.touch()


def test_bulk_calls_fan_out_to_a_bounded_number_of_nodes(start_node: StartNode) -> None:
    many_members = [f"127.1.0.{i}" for i in range(1, 66)]
    dead_members = [f"127.2.0.{i}" for i in range(1, 41)]  # nothing listens there: each owner fails
    peers = ",".join(many_members + dead_members)
    node = start_node(ip="127.0.0.2", env={"JQM_PEERS": peers, "JQM_FORWARD_TIMEOUT": "2"})
    many = [id_base(ip) + 1 for ip in many_members]
    status, _, body = node.request("POST", "/ws/client/ji/killed", data=json.dumps(many).encode(), headers=JSON)
    assert status == 400 and "at most 64 nodes" in json.loads(body)["userReadableMessage"]
    dead = [id_base(ip) + 1 for ip in dead_members]
    status, headers, body = node.request("POST", "/ws/client/ji/paused", data=json.dumps(dead).encode(), headers=JSON)
    assert status == 200 and json.loads(body) == 0
    assert len(headers["X-Jqm-Partial-Results"].split(",")) == 32
    assert headers["X-Jqm-Partial-Results-Count"] == "40"


def test_nothing_logged_as_internal_error(strict_node: RunningNode) -> None:
    for path in (
        "/ws/simple/status?id=" + "9" * 5000,
        "/ws/client/ji/" + "1" * 30,
        "/ws/client/q/99999999999999999999/status",
    ):
        assert strict_node.request("GET", path)[0] == 400
    assert "internal error" not in strict_node.log_path.read_text()


def test_malformed_requests_cannot_fill_the_log(strict_node: RunningNode) -> None:
    for junk in (
        b"GET / HTTP/1.1\r\nX-A: " + b"a" * 20_000 + b"\r\n\r\n",
        b"get / HTTP/1.1\r\n\r\n",
        b"\x00\x01\r\n\r\n",
    ):
        with connect(strict_node) as sock:
            sock.sendall(junk)
            assert read_until_closed(sock).startswith(b"HTTP/1.0 400")
    assert strict_node.request("GET", "/ws/simple/localnode/health")[0] == 200
    log = strict_node.log_path.read_text()
    assert "Traceback" not in log and "Error handling request" not in log
