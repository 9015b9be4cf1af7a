"""Three real nodes on 127.0.0.2-4: every job-scoped call works through a node that does not own the job."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from jqm_node.cluster import peerauth
from jqm_node.ids import id_base
from tests.node.conftest import (
    ADMIN,
    CLUSTER_SECRET,
    USERS,
    RunningNode,
    StartNode,
    basic,
    loopback_addresses,
    shell_job,
)

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
PORT = 1789
IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def cluster_config(gate: Path) -> dict[str, object]:
    wait = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    return {
        "queues": [{"name": "main", "maxThreads": 1}],
        "jobDefinitions": [
            shell_job("Wait", wait),
            shell_job("Echo", 'echo out; echo err >&2; echo file > "$JQM_JI_DELIVERY_DIR/report.txt"'),
            shell_job("Fail", "exit 4"),
        ],
    }


@pytest.fixture
def three_nodes(start_node: StartNode, tmp_path: Path) -> Iterator[tuple[RunningNode, RunningNode, RunningNode]]:
    env = {"JQM_PEERS": ",".join(IPS), "JQM_FORWARD_TIMEOUT": "2"}
    config = cluster_config(tmp_path / "gate")
    nodes = tuple(start_node(ip=ip, port=PORT, env=env, config=config) for ip in IPS)
    yield nodes  # type: ignore[misc]
    (tmp_path / "gate").touch()


def same_answer(owner: RunningNode, other: RunningNode, method: str, path: str, **kw: object) -> tuple[int, bytes]:
    """The call through ``other`` answers exactly what the owner answers."""
    direct = owner.request(method, path, **kw)  # type: ignore[arg-type]
    forwarded = other.request(method, path, **kw)  # type: ignore[arg-type]
    assert forwarded[0] == direct[0], (forwarded, direct)
    assert forwarded[2] == direct[2]
    assert forwarded[1].get("Content-Type") == direct[1].get("Content-Type")
    return forwarded[0], forwarded[2]


def test_reads_through_a_non_owner(three_nodes: tuple[RunningNode, ...]) -> None:
    owner, other, third = three_nodes
    job_id = owner.enqueue("Echo")
    owner.wait_state(job_id, "ENDED")
    for path in (f"/ws/client/ji/{job_id}", f"/ws/client/ji/{job_id}/messages", f"/ws/client/ji/{job_id}/files"):
        same_answer(owner, other, "GET", path)
        same_answer(owner, third, "GET", path, headers=JSON)
    assert same_answer(owner, other, "GET", f"/ws/client/ji/{job_id}/stdout")[1] == b"out\n"
    assert same_answer(owner, other, "GET", f"/ws/client/ji/{job_id}/stderr")[1] == b"err\n"
    assert same_answer(owner, other, "GET", f"/ws/simple/status?id={job_id}")[1] == b"ENDED"
    assert same_answer(owner, other, "GET", f"/ws/simple/stdout?id={job_id}")[1] == b"out\n"
    assert same_answer(owner, other, "GET", f"/ws/simple/stderr?id={job_id}")[1] == b"err\n"
    files = json.loads(other.request("GET", f"/ws/client/ji/{job_id}/files", headers=JSON)[2])
    deliverable_id = files[0]["id"]
    assert deliverable_id == job_id + 1  # from the owner's IDs
    assert same_answer(owner, third, "GET", f"/ws/client/ji/files/{deliverable_id}")[1] == b"file\n"
    assert same_answer(owner, third, "GET", f"/ws/simple/file?id={deliverable_id}")[1] == b"file\n"


def test_instructions_through_a_non_owner(three_nodes: tuple[RunningNode, ...], tmp_path: Path) -> None:
    owner, other, _ = three_nodes
    running = owner.enqueue("Wait")
    owner.wait_state(running, "RUNNING")
    waiting = [owner.enqueue("Wait") for _ in range(4)]

    assert other.request("POST", f"/ws/client/ji/paused/{waiting[0]}")[0] == 204
    assert owner.state(waiting[0]) == "HOLDED"
    assert other.request("DELETE", f"/ws/client/ji/paused/{waiting[0]}")[0] == 204
    assert owner.state(waiting[0]) == "SUBMITTED"
    assert other.request("POST", f"/ws/client/ji/{waiting[2]}/priority/5")[0] == 204
    assert other.request("POST", f"/ws/client/ji/{waiting[1]}/position/1")[0] == 204
    order = json.loads(owner.request("GET", f"/ws/client/ji/{waiting[1]}", headers=JSON)[2])
    assert order["priority"] == 0 and order["position"] == 2  # priority 5 goes first
    future_ms = int((time.time() + 3600) * 1000)
    assert other.request("POST", f"/ws/client/ji/{waiting[3]}/delay/{future_ms}")[0] == 204
    assert owner.state(waiting[3]) == "SCHEDULED"
    assert other.request("POST", f"/ws/client/ji/cancelled/{waiting[3]}")[0] == 204
    assert owner.state(waiting[3]) == "CANCELLED"
    assert other.request("DELETE", f"/ws/client/ji/waiting/{waiting[0]}")[0] == 204
    assert owner.request("GET", f"/ws/client/ji/{waiting[0]}")[0] == 404

    assert other.request("POST", f"/ws/client/ji/running/paused/{running}")[0] == 204
    assert other.request("DELETE", f"/ws/client/ji/running/paused/{running}")[0] == 204
    assert other.request("POST", f"/ws/client/ji/killed/{running}")[0] == 204
    assert owner.wait_state(running, "CRASHED", "KILLED") == "CRASHED"
    (tmp_path / "gate").touch()


def test_history_restart_and_input_files(three_nodes: tuple[RunningNode, ...]) -> None:
    owner, other, _ = three_nodes
    failed = owner.enqueue("Fail")
    owner.wait_state(failed, "CRASHED")
    status, _, body = other.request("DELETE", f"/ws/client/ji/crashed/{failed}", headers=JSON)
    assert status == 200, body
    restarted = json.loads(body)["id"]
    assert id_base(owner.ip) < restarted < id_base(owner.ip) + 1_000_000
    status, _, body = other.request("POST", f"/ws/client/ji/{restarted}", headers=JSON)
    assert status == 200, body
    again = json.loads(body)  # upstream answers the new ID alone
    assert again // 1_000_000 == id_base(owner.ip) // 1_000_000  # created on the owner, from its history
    owner.enqueue("Wait")  # takes the only slot
    waiting = owner.enqueue("Wait")
    status, _, body = other.request(
        "POST", f"/ws/client/ji/{waiting}/files/input.csv", data=b"a,b\n", headers={"Content-Type": "text/plain"}
    )
    assert status in (200, 204), body


class RecordingListener:
    """A TCP listener that records the head of the first request it receives and answers 404."""

    def __init__(self, ip: str, port: int = PORT) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.received = b""
        self._thread = threading.Thread(target=self._serve_one, daemon=True)
        self._thread.start()

    def _serve_one(self) -> None:
        connection, _ = self.sock.accept()
        with connection:
            connection.settimeout(10)
            while b"\r\n\r\n" not in self.received:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                self.received += chunk
            connection.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> bytes:
        self._thread.join(timeout=15)
        self.sock.close()
        return self.received


class CountingListener:
    """A TCP listener that counts connections and never answers (a slow or hostile peer)."""

    def __init__(self, ip: str, port: int = PORT) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self.accepted:
            connection.close()
        self.sock.close()


def test_owner_that_is_no_member_is_never_contacted(start_node: StartNode) -> None:
    me, member, stranger = loopback_addresses(3)
    listener = CountingListener(stranger)
    try:
        # A long forward timeout, and a short client timeout: an answer that waited for any timeout fails the test.
        node = start_node(ip=me, port=PORT, env={"JQM_PEERS": member, "JQM_FORWARD_TIMEOUT": "60"})
        foreign = id_base(stranger) + 1
        for path in (f"/ws/client/ji/{foreign}", f"/ws/simple/status?id={foreign}", f"/ws/client/ji/files/{foreign}"):
            status, _, body = node.request("GET", path, headers=JSON, timeout=5)
            assert status == 410, body
            error = json.loads(body)
            assert error["errorCode"] == 1
            assert error["userReadableMessage"] == (
                f"job {foreign} belonged to node {stranger}, which has left the cluster; "
                "its history has expired or was never handed over"
            )
        status, _, _ = node.request("POST", "/ws/client/ji/killed", data=json.dumps([foreign]).encode(),
                                    headers={"Content-Type": "application/json", **JSON}, timeout=5)  # fmt: skip
        assert status == 200
        assert listener.accepted == []
    finally:
        listener.close()


def test_dead_member_gives_502_and_silent_member_504_naming_its_timeout(start_node: StartNode) -> None:
    me, dead_member, silent_member = loopback_addresses(3)
    env = {"JQM_PEERS": f"{dead_member},{silent_member}", "JQM_FORWARD_TIMEOUT": "1"}
    node = start_node(ip=me, port=PORT, env=env)
    dead = id_base(dead_member) + 1  # a member, but nothing listens there
    status, _, body = node.request("GET", f"/ws/client/ji/{dead}", headers=JSON)
    assert status == 502 and dead_member in json.loads(body)["userReadableMessage"]
    listener = CountingListener(silent_member)
    try:
        status, _, body = node.request("GET", f"/ws/client/ji/{id_base(silent_member) + 1}", headers=JSON)
        message = json.loads(body)["userReadableMessage"]
        assert status == 504
        assert message == (
            f"the node answering for this job ({silent_member}) did not answer within 1s (JQM_FORWARD_TIMEOUT)"
        )
        assert len(listener.accepted) == 1
    finally:
        listener.close()


def signed(method: str, path: str, *, sender: str, secret: str = CLUSTER_SECRET, **options: float) -> dict[str, str]:
    return peerauth.sign(secret.encode(), method=method, path_qs=path, sender=sender, user="admin", **options)


def test_forwarded_requests_are_never_forwarded_again(three_nodes: tuple[RunningNode, ...]) -> None:
    owner, other, _ = three_nodes
    job_id = owner.enqueue("Echo")
    path = f"/ws/client/ji/{job_id}"
    marker = signed("GET", path, sender=owner.ip)
    assert other.request("GET", path, headers=marker, auth=None)[0] == 404
    assert owner.request("GET", path, headers=marker, auth=None)[0] == 200


def test_forged_missing_or_expired_signatures_are_refused(three_nodes: tuple[RunningNode, ...]) -> None:
    owner, other, _ = three_nodes
    job_id = owner.enqueue("Echo")
    path = f"/ws/client/ji/{job_id}"
    refused = {
        "no signature": {"X-Jqm-Forwarded-By": other.ip},
        "wrong secret": signed("GET", path, sender=other.ip, secret="not-the-cluster-secret-at-all"),
        "expired": signed("GET", path, sender=other.ip, now=time.time() - 3600),
        "from the future": signed("GET", path, sender=other.ip, now=time.time() + 3600),
        "other path": signed("GET", f"/ws/client/ji/{job_id}/stdout", sender=other.ip),
        "other method": signed("POST", path, sender=other.ip),
        "other user": {**signed("GET", path, sender=other.ip), "X-Jqm-User": "someone-else"},
        "malformed": {"X-Jqm-Forwarded-By": other.ip, "X-Jqm-Peer-Signature": "v1:abc:def"},
    }
    for why, headers in refused.items():
        for credentials in (None, ADMIN):  # a valid user does not make a bad signature acceptable
            status, reply_headers, body = owner.request("GET", path, headers=headers, auth=credentials)
            assert status == 401, (why, body)
            assert b"node-to-node call refused" in body and "WWW-Authenticate" in reply_headers


def test_a_refused_peer_call_is_never_handled(three_nodes: tuple[RunningNode, ...]) -> None:
    owner, other, _ = three_nodes
    owner.wait_state(owner.enqueue("Wait"), "RUNNING")  # the only slot: what follows waits
    waiting = owner.enqueue("Wait")
    path = f"/ws/client/ji/cancelled/{waiting}"
    forged = signed("POST", path, sender=other.ip, secret="not-the-cluster-secret-at-all")
    assert owner.request("POST", path, headers=forged)[0] == 401
    assert owner.state(waiting) == "SUBMITTED"
    assert owner.request("POST", path, headers=signed("POST", path, sender=other.ip), auth=None)[0] == 204
    assert owner.state(waiting) == "CANCELLED"


def test_the_clients_credentials_never_reach_the_owner(
    three_nodes: tuple[RunningNode, ...], start_node: StartNode
) -> None:
    """The entry node authorizes; the owner gets a signed call naming the user, not the password."""
    owner, other, _ = three_nodes
    job_id = owner.enqueue("Echo")
    owner.wait_state(job_id, "ENDED")
    assert other.request("GET", f"/ws/client/ji/{job_id}", auth=("reader", USERS["reader"][0]))[0] == 200
    assert other.request("GET", f"/ws/client/ji/{job_id}", auth=("reader", "wrong"))[0] == 401
    assert other.request("POST", f"/ws/client/ji/killed/{job_id}", auth=("reader", USERS["reader"][0]))[0] == 403
    entry_ip, member_ip = loopback_addresses(2)
    entry = start_node(ip=entry_ip, port=PORT, env={"JQM_PEERS": member_ip})
    listener = RecordingListener(member_ip)  # a member of the entry node's cluster that records what it gets
    try:
        proxied = {"X-Jqm-Authorization": basic(("admin", USERS["admin"][0]))}  # as through the API server
        assert entry.request("GET", f"/ws/client/ji/{id_base(member_ip) + 1}", headers=proxied, auth=None)[0] == 404
    finally:
        received = listener.close()
    assert b"authorization" not in received.lower()
    assert b"x-jqm-user: admin" in received.lower() and b"x-jqm-peer-signature: v1:" in received.lower()


def post_json(node: RunningNode, path: str, body: object, **headers: str) -> tuple[int, dict[str, str], object]:
    status, reply_headers, reply = node.request(
        "POST", path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **JSON, **headers}
    )
    return status, reply_headers, json.loads(reply) if reply else None


def two_jobs_each(nodes: tuple[RunningNode, ...], application: str = "Echo", **fields: str) -> list[int]:
    ids = [node.enqueue(application, **fields) for node in nodes for _ in range(2)]
    return sorted(ids)


def test_lists_and_queries_answer_for_the_whole_cluster(three_nodes: tuple[RunningNode, ...]) -> None:
    ids = two_jobs_each(three_nodes, user="zoe")
    for job_id, node in zip(ids, [n for n in three_nodes for _ in range(2)], strict=True):
        node.wait_state(job_id, "ENDED")
    reader = three_nodes[2]
    listed = json.loads(reader.request("GET", "/ws/client/ji", headers=JSON)[2])
    assert [job["id"] for job in listed] == ids
    xml = reader.request("GET", "/ws/client/ji")[2].decode()
    assert all(f"<id>{job_id}</id>" in xml for job_id in ids)

    status, headers, page = post_json(reader, "/ws/client/ji/query", {"user": "zoe", "firstRow": 1, "pageSize": 3})
    assert status == 200 and "X-Jqm-Partial-Results" not in headers
    assert page["resultSize"] == 6  # type: ignore[index]
    assert [job["id"] for job in page["instances"]] == ids[1:4]  # type: ignore[index]
    newest = {"user": "zoe", "pageSize": 2, "sortby": [{"col": "ID", "order": "DESCENDING"}]}
    assert post_json(reader, "/ws/client/ji/query/ids", newest)[2] == ids[:-3:-1]
    xml_query = b"<queryBaseImpl><user>zoe</user><pageSize>4</pageSize></queryBaseImpl>"
    status, _, body = reader.request(
        "POST", "/ws/client/ji/query", data=xml_query, headers={"Content-Type": "application/xml", **JSON}
    )
    assert status == 200 and [job["id"] for job in json.loads(body)["instances"]] == ids[:4]


def test_active_and_user_lists_across_nodes(three_nodes: tuple[RunningNode, ...], tmp_path: Path) -> None:
    waiting = two_jobs_each(three_nodes, "Wait", user="ann")
    reader = three_nodes[0]
    active = json.loads(reader.request("GET", "/ws/client/ji/active", headers=JSON)[2])
    assert [job["id"] for job in active] == waiting
    mine = json.loads(reader.request("GET", "/ws/client/user/ann/ji", headers=JSON)[2])
    assert [job["id"] for job in mine] == waiting
    assert json.loads(reader.request("GET", "/ws/client/user/bob/ji", headers=JSON)[2]) == []
    (tmp_path / "gate").touch()


def test_bulk_calls_are_split_per_owner(three_nodes: tuple[RunningNode, ...], tmp_path: Path) -> None:
    a, b, c = three_nodes
    for node in (a, b):
        node.wait_state(node.enqueue("Wait"), "RUNNING")  # the only slot: what follows waits
    queued = [a.enqueue("Wait"), b.enqueue("Wait"), a.enqueue("Wait")]
    assert post_json(c, "/ws/client/ji/paused", queued)[2] == 3
    assert [n.state(j) for n, j in zip((a, b, a), queued, strict=True)] == ["HOLDED"] * 3
    assert post_json(c, "/ws/client/ji/resumed", queued)[2] == 3
    assert post_json(c, "/ws/client/q/1/bulk", queued)[2] == 3
    assert post_json(c, "/ws/client/ji/killed", queued)[2] == 3
    assert [n.state(j) for n, j in zip((a, b, a), queued, strict=True)] == ["CANCELLED"] * 3
    status, _, created = post_json(c, "/ws/client/ji/bulk", queued)
    assert status == 200 and created == []  # cancelled jobs are not enqueued again, as upstream
    (tmp_path / "gate").touch()
    done = [a.enqueue("Echo"), b.enqueue("Echo")]
    a.wait_state(done[0], "ENDED")
    b.wait_state(done[1], "ENDED")
    status, _, created = post_json(c, "/ws/client/ji/bulk", done)
    assert status == 200 and len(created) == 2  # type: ignore[arg-type]
    owners = sorted(job_id // 1_000_000 for job_id in created)  # type: ignore[union-attr]
    assert owners == sorted(job_id // 1_000_000 for job_id in done)


def test_a_dead_peer_makes_results_partial_not_failed(start_node: StartNode, tmp_path: Path) -> None:
    env = {"JQM_PEERS": "127.0.0.2,127.0.0.3,127.0.0.7", "JQM_FORWARD_TIMEOUT": "2"}
    config = cluster_config(tmp_path / "gate")
    a = start_node(ip="127.0.0.2", port=PORT, env=env, config=config)
    b = start_node(ip="127.0.0.3", port=PORT, env=env, config=config)
    ids = sorted([a.enqueue("Echo"), b.enqueue("Echo")])
    status, headers, body = a.request("GET", "/ws/client/ji", headers=JSON)
    assert status == 200 and headers["X-Jqm-Partial-Results"] == "127.0.0.7"
    assert [job["id"] for job in json.loads(body)] == ids
    status, headers, _ = post_json(a, "/ws/client/ji/paused", [*ids, id_base("127.0.0.7") + 1])
    assert status == 200 and headers["X-Jqm-Partial-Results"] == "127.0.0.7"


def test_every_job_of_every_node_is_listed_past_the_first_page(three_nodes: tuple[RunningNode, ...]) -> None:
    """Upstream's getJobs() (JdbcClient) queries live and history instances, which turns paging off
    (QueryBaseImpl.setQueryLiveInstances): every job, not the first 50; here of every node, by ID."""
    held = {"applicationName": "Echo", "startState": "HOLDED"}
    ids = sorted(post_json(node, "/ws/client/ji", held)[2]["id"] for node in three_nodes for _ in range(25))  # type: ignore[index]
    listed = json.loads(three_nodes[1].request("GET", "/ws/client/ji", headers=JSON)[2])
    assert [job["id"] for job in listed] == ids and len(ids) == 75
    root = ET.fromstring(three_nodes[1].request("GET", "/ws/client/ji")[2])
    assert root.tag == "jobInstances" and [int(e.findtext("id") or 0) for e in root] == ids
    assert len(json.loads(three_nodes[1].request("GET", "/ws/client/ji/active", headers=JSON)[2])) == 50


class BrokenPeer:
    """A member that starts every NDJSON answer to ``GET ji`` with one job, then drops the connection."""

    def __init__(self, ip: str) -> None:
        self.sock = socket.create_server((ip, PORT))
        line = json.dumps({"id": id_base(ip) + 1, "state": "ENDED"}).encode() + b"\n"
        self.answer = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(line):x}\r\n".encode() + line + b"\r\n"
        )  # fmt: skip
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.sock.accept()
                with connection:
                    connection.recv(65536)
                    connection.sendall(self.answer)
                    time.sleep(0.2)  # then the connection is lost in the middle of the answer

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)


def test_a_peer_that_breaks_off_fails_the_list_never_shortens_it(start_node: StartNode, tmp_path: Path) -> None:
    me, broken = loopback_addresses(2)  # the broken peer's jobs come after this node's: they are merged by ID
    peer = BrokenPeer(broken)
    try:
        env = {"JQM_PEERS": broken, "JQM_FORWARD_TIMEOUT": "5"}
        node = start_node(ip=me, port=PORT, env=env, config=cluster_config(tmp_path / "gate"))
        status, _, body = node.request("GET", "/ws/client/ji", headers=JSON)
        assert status == 502 and broken in json.loads(body)["userReadableMessage"], "nothing sent yet: an errorDto"
        for _ in range(300):  # more than one chunk of answer (64 KiB) before the peer's part
            assert post_json(node, "/ws/client/ji", {"applicationName": "Echo", "startState": "HOLDED"})[0] == 200
        connection = http.client.HTTPConnection(me, PORT, timeout=10)
        connection.request("GET", "/ws/client/ji", headers={**JSON, "Authorization": basic(ADMIN)})
        response = connection.getresponse()
        assert response.status == 200
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            json.loads(response.read())  # a complete body would be a well-formed list
        connection.close()
    finally:
        peer.close()
