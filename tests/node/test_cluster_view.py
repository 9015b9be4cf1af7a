"""The console's reads on real nodes: ``GET /ws/cluster/nodes`` gathers every member's status through
the signed ``GET /peer/status``, ``GET /ws/admin/me`` says who the caller is and what it may do, and the
console's static files are served with their security headers."""

from __future__ import annotations

import json

import pytest

from jqm_node.api.console import CONTENT_SECURITY_POLICY
from tests.node.conftest import USERS, RunningNode, StartNode, loopback_addresses

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}


def as_user(name: str) -> tuple[str, str]:
    return name, USERS[name][0]


def test_cluster_nodes_gathers_every_member_and_names_the_silent_one(start_node: StartNode) -> None:
    first_ip, second_ip, absent_ip = loopback_addresses(3)  # nothing listens on the third one
    env = {"JQM_PEERS": f"{first_ip},{second_ip},{absent_ip}", "JQM_FORWARD_TIMEOUT": "2"}
    first = start_node(ip=first_ip, port=1789, env=env)
    second = start_node(ip=second_ip, port=1789, env=env)
    second.manage("POST", "/node/drain", data=json.dumps({"reason": "maintenance"}).encode())

    status, headers, body = first.request("GET", "/ws/cluster/nodes")
    assert status == 200, body
    nodes = json.loads(body)["nodes"]
    assert [node["ip"] for node in nodes] == [first_ip, second_ip, absent_ip]
    assert [node["reachable"] for node in nodes] == [True, True, False]
    assert nodes[1]["draining"] is True and nodes[1]["drainReason"] == "maintenance"
    own = json.loads(first.manage("GET", "/node/status")[2])
    stable = ("ip", "name", "idCapacity", "draining", "accepting", "stopping", "running", "queued", "auth")
    assert {key: nodes[0][key] for key in stable} == {key: own[key] for key in stable}
    assert headers["X-Jqm-Partial-Results"] == absent_ip


def test_cluster_nodes_needs_node_read(start_node: StartNode) -> None:
    node = start_node()
    assert node.request("GET", "/ws/cluster/nodes", auth=None)[0] == 401
    assert node.request("GET", "/ws/cluster/nodes", auth=as_user("reader"))[0] == 403  # client read only
    for user in ("client", "viewer", "configadmin", "power"):
        assert node.request("GET", "/ws/cluster/nodes", auth=as_user(user))[0] == 200, user


def test_peer_status_answers_signed_calls_only(start_node: StartNode) -> None:
    node = start_node()
    status, _, body = node.request("GET", "/peer/status", headers=JSON)
    assert status == 401 and json.loads(body)["userReadableMessage"].startswith("node-to-node call refused")
    forged = {"X-Jqm-Forwarded-By": "127.0.0.9", "X-Jqm-Peer-Signature": "v1:1:00", "X-Jqm-User": "admin"}
    assert node.request("GET", "/peer/status", auth=None, headers=forged)[0] == 401


def test_me_tells_the_login_and_what_it_may_do(start_node: StartNode) -> None:
    node = start_node()
    status, _, body = node.request("GET", "/ws/admin/me", auth=as_user("reader"))
    assert status == 200
    me = json.loads(body)
    assert me["login"] == "reader" and me["enforced"] is True
    assert set(me["permissions"]) == {"queue:read", "job_instance:read", "logs:read", "files:read"}
    assert me["may"]["job_instance:read"] is True and me["may"]["logs:read"] is True
    assert me["may"]["job_instance:create"] is False and me["may"]["node:read"] is False
    admin = json.loads(node.request("GET", "/ws/admin/me")[2])
    assert admin["permissions"] == ["*:*"] and all(admin["may"].values())
    assert node.request("GET", "/ws/admin/me", auth=None)[0] == 401
    assert node.request("GET", "/ws/admin/me", auth=("reader", "wrong"))[0] == 401


def test_me_on_an_open_node(start_node: StartNode) -> None:
    node = start_node(env={"JQM_AUTH": "off"})
    me = json.loads(node.request("GET", "/ws/admin/me", auth=None)[2])
    assert me["enforced"] is False and me["login"] is None and all(me["may"].values())


def test_console_files_are_public_with_strict_headers(start_node: StartNode) -> None:
    node = start_node()
    status, headers, body = node.request("GET", "/console/", auth=None)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in headers
    assert b"<script>" not in body and b'<script type="module" src="app.js">' in body
    status, headers, _ = node.request("GET", "/console/app.js", auth=None)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert node.request("GET", "/console/app.js", auth=None, headers={"If-None-Match": headers["ETag"]})[0] == 304
    status, headers, _ = node.request("GET", "/console", auth=None)  # urllib follows the redirect
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for missing in ("/console/nothing.js", "/console/..%2Fapi%2Faccess.py", "/console/Index.html"):
        assert node.request("GET", missing, auth=None)[0] == 404, missing


def test_entry_node_reports_itself_without_peers(start_node: StartNode) -> None:
    node: RunningNode = start_node()
    nodes = json.loads(node.request("GET", "/ws/cluster/nodes")[2])["nodes"]
    assert [(n["ip"], n["reachable"]) for n in nodes] == [(node.ip, True)]
