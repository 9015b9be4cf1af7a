"""Every route of a real node, table-driven from the route -> permission table the node enforces:
no credential is 401 with a challenge, a role without the permission 403 with an errorDto, a role
with it neither; node-to-node routes refuse every user (401)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from jqm_node.api.access import AUTHENTICATED, PEER, PUBLIC, ROUTE_RULES, Rule
from jqm_node.auth.permissions import BUILTIN_ROLES
from jqm_node.auth.principal import Principal
from jqm_node.ids import id_base
from tests.node.conftest import USERS, RunningNode, basic, launch_node, stop_node

pytestmark = pytest.mark.integration

IP = "127.0.0.1"
UNKNOWN_JOB = id_base(IP) + 999_999
PLACEHOLDERS = {
    "{id}": str(UNKNOWN_JOB), "{job}": str(UNKNOWN_JOB), "{queue}": "999", "{name}": "x", "{position}": "1",
    "{priority}": "1", "{when}": "0", "{schedule}": "1", "{cron}": "x", "{application}": "x",
}  # fmt: skip


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = launch_node(tmp_path_factory.mktemp("access") / "node", ip=IP)
    try:
        yield running
    finally:
        stop_node(running)
    assert "internal error on" not in running.log_path.read_text()


def concrete(path: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        path = path.replace(placeholder, value)
    return path


def allowed(user: str, rule: Rule) -> bool:
    if rule is AUTHENTICATED:
        return True
    assert rule.permission is not None
    permissions = frozenset(p for role in USERS[user][1] for p in BUILTIN_ROLES[role])
    return Principal(user, permissions).may(rule.permission)


ROUTES = sorted(ROUTE_RULES.items())


@pytest.mark.parametrize(("route", "rule"), ROUTES, ids=[f"{m} {p}" for (m, p), _ in ROUTES])
def test_route_permissions(node: RunningNode, route: tuple[str, str], rule: Rule) -> None:
    method, path = route
    url = concrete(path)
    status, headers, body = node.request(method, url, auth=None)
    if rule is PUBLIC:
        assert status not in (401, 403)
        return
    assert status == 401, body
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert b"<errorCode>12</errorCode>" in body
    for user, (password, _) in USERS.items():
        status, _, body = node.request(method, url, auth=(user, password), headers={"Accept": "application/json"})
        if rule is PEER:  # nodes only: no user, not even an administrator
            assert status == 401, (user, status, body)
            assert json.loads(body)["userReadableMessage"].startswith("node-to-node call refused")
        elif allowed(user, rule):
            assert status not in (401, 403), (user, status, body)
            assert status < 500, (user, body)
        else:
            assert status == 403, (user, status, body)
            assert (
                json.loads(body)["errorCode"] == 13 and str(rule.permission) in json.loads(body)["userReadableMessage"]
            )


def test_head_is_authorized_as_get(node: RunningNode) -> None:
    assert node.request("HEAD", "/ws/client/q", auth=None)[0] == 401
    assert node.request("HEAD", "/ws/client/q", auth=("nobody", USERS["nobody"][0]))[0] == 403
    assert node.request("HEAD", "/ws/client/q")[0] == 200


def test_unknown_routes_need_a_credential_first(node: RunningNode) -> None:
    assert node.request("GET", "/ws/client/nothing", auth=None)[0] == 401
    assert node.request("GET", "/ws/client/nothing")[0] == 404
    assert node.request("PUT", "/ws/simple/ji")[0] == 405


def test_bearer_and_bad_headers(node: RunningNode) -> None:
    for header in (
        "Bearer nope",
        "Basic",
        "Basic ####",
        basic(("admin", "wrong")),
        "Negotiate abc",
        "Basic " + "x" * 6000,
    ):
        status, headers, body = node.request("GET", "/ws/client/q", headers={"Authorization": header})
        assert status == 401 and "WWW-Authenticate" in headers, (header[:40], body)


def test_enginelog_is_for_administrators(node: RunningNode) -> None:
    assert node.request("GET", "/ws/simple/enginelog?latest=5", auth=("power", USERS["power"][0]))[0] == 403
    assert node.request("GET", "/ws/simple/enginelog?latest=5")[0] == 200


def test_management_routes_do_not_exist_on_the_client_listener(node: RunningNode) -> None:
    for method, path in (("GET", "/node/status"), ("POST", "/node/drain"), ("POST", "/node/undrain"),
                         ("GET", "/metrics")):  # fmt: skip
        assert node.request(method, path)[0] == 404, path
    assert json.loads(node.manage("GET", "/node/status")[2])["draining"] is False


def test_credentials_through_the_kubernetes_api_proxy(node: RunningNode) -> None:
    """The API server removes ``Authorization`` before proxying: the JQM credential may come as
    ``X-Jqm-Authorization``, checked the same way; ``Authorization`` wins when both are present."""
    admin = basic(("admin", USERS["admin"][0]))
    assert node.request("GET", "/ws/client/q", auth=None, headers={"X-Jqm-Authorization": admin})[0] == 200
    wrong = basic(("admin", "wrong"))
    assert node.request("GET", "/ws/client/q", auth=None, headers={"X-Jqm-Authorization": wrong})[0] == 401
    both = {"Authorization": wrong, "X-Jqm-Authorization": admin}
    assert node.request("GET", "/ws/client/q", auth=None, headers=both)[0] == 401
