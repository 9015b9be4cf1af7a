"""The route -> permission table: complete, consistent with the routes, and upstream's permissions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp import web

from jqm_node.api.access import (
    ADMIN_ONLY,
    AUTHENTICATED,
    PEER,
    PUBLIC,
    ROUTE_RULES,
    needs,
    rules_for,
)
from jqm_node.app import build_app
from jqm_node.config import NodeConfig, Settings
from jqm_node.model import Queue
from jqm_node.node import Node


def app(tmp_path: Path) -> web.Application:
    settings = Settings(
        ip="127.0.0.1", name="n", host="127.0.0.1", port=1789, workdir=tmp_path, id_limit=10, shutdown_grace=1,
        kill_grace=1,
    )  # fmt: skip
    return build_app(Node(settings, NodeConfig(queues=[Queue(id=1, name="DEFAULT", default=True)])))


def test_every_route_has_exactly_one_rule(tmp_path: Path) -> None:
    rules = rules_for(app(tmp_path).router.routes(), ROUTE_RULES)  # raises on any mismatch
    assert {rule for rule in rules.values()} >= {PUBLIC, AUTHENTICATED, ADMIN_ONLY, PEER}


def test_a_route_without_rule_or_a_rule_without_route_stops_the_node(tmp_path: Path) -> None:
    routes = list(app(tmp_path).router.routes())
    with pytest.raises(RuntimeError, match="has no access rule"):
        rules_for(routes, {k: v for k, v in ROUTE_RULES.items() if k != ("GET", "/ws/client/jd")})
    with pytest.raises(RuntimeError, match="routes that do not exist"):
        rules_for(routes, {**ROUTE_RULES, ("GET", "/ws/nothing"): PUBLIC})


async def _empty(request: web.Request) -> web.Response:
    return web.Response()


def test_peer_routes_must_be_signed_only() -> None:
    router = web.Application().router
    router.add_get("/peer/handover", _empty)
    with pytest.raises(RuntimeError, match="must be a PEER route"):
        rules_for(router.routes(), {("GET", "/peer/handover"): AUTHENTICATED})
    assert list(rules_for(router.routes(), {("GET", "/peer/handover"): PEER}).values()) == [PEER, PEER]  # GET, HEAD


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [  # upstream's shiro.ini, first match wins; rest[x] = x:read (GET), x:create (POST), x:delete (DELETE)
        ("POST", "/ws/simple/ji", "job_instance:create"),
        ("GET", "/ws/simple/stdout", "logs:read"),
        ("GET", "/ws/simple/file", "job_instance:read"),
        ("POST", "/ws/client/ji/query", "job_instance:read"),
        ("POST", "/ws/client/ji/files", "files:read"),
        ("GET", "/ws/client/ji/{id}/stderr", "logs:read"),
        ("GET", "/ws/client/user/{name}/ji", "job_instance"),
        ("DELETE", "/ws/client/ji/crashed/{id}", "job_instance:delete"),
        ("GET", "/ws/client/q/{queue}/status", "queue_position:create"),
        ("GET", "/ws/client/q", "queue:read"),
        ("GET", "/ws/client/jd/name/{name}", "jd:read"),
        ("POST", "/ws/client/schedule/{schedule}/cron/{cron}", "job_instance:create"),
        ("POST", "/ws/client/ji/{id}/position/{position}", "queue_position:create"),
    ],
)
def test_permissions_are_upstreams(method: str, path: str, permission: str) -> None:
    assert ROUTE_RULES[(method, path)] == needs(permission)


def test_health_and_the_consoles_static_files_are_the_only_public_routes() -> None:
    assert [key for key, rule in ROUTE_RULES.items() if rule is PUBLIC] == [
        ("GET", "/ws/simple/localnode/health"),
        ("GET", "/console"),
        ("GET", "/console/"),
        ("GET", "/console/{name}"),
    ]
    assert ROUTE_RULES[("GET", "/ws/cluster/nodes")] == needs("node:read")
    assert ROUTE_RULES[("GET", "/ws/admin/me")] is AUTHENTICATED
    assert ROUTE_RULES[("GET", "/peer/status")] is PEER
    assert ROUTE_RULES[("GET", "/ws/simple/enginelog")] is ADMIN_ONLY


def test_the_documented_table_is_the_enforced_one() -> None:
    """docs/NODE.md's route table, row by row, against ROUTE_RULES."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "NODE.md").read_text()
    rows = re.findall(r"^\| `(GET|POST|DELETE) (/(?:ws/|peer/|console)[^`]*)` \| ([^|]+) \|", text, flags=re.MULTILINE)
    documented = {(method, path): permission.strip() for method, path, permission in rows}
    expected = {
        key: "none (public)" if rule is PUBLIC else "any valid credential" if rule is AUTHENTICATED
        else "`*:*` (administrator)" if rule is ADMIN_ONLY else "a node's signature (nodes only)" if rule is PEER
        else f"`{rule.permission}`"
        for key, rule in ROUTE_RULES.items()
    }  # fmt: skip
    assert documented == expected
