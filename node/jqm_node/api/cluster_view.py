"""Who the caller is and how every member is doing: the two reads the web console builds on (ours).

``GET /ws/admin/me`` is upstream's route of that name (its console asks it what to show): the login,
whether authentication is enforced, the permissions of the user's roles; plus ``may``, the answer
for each permission this node's routes ask for, decided by the node's own rules (so a client never
re-implements Shiro's wildcard matching).

``GET /ws/cluster/nodes`` answers the status of every member (what ``GET /node/status`` answers on
the private management listener): the entry node asks each member for it with the signed node-to-node
call ``GET /peer/status``, so the management listener stays private and no client credential travels
between nodes. A member that does not answer is listed with ``"reachable": false`` and named in
``X-Jqm-Partial-Results``, as for every cluster-wide read.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from jqm_node.api.access import ROUTE_RULES
from jqm_node.api.management import status_of
from jqm_node.api.representation import json_response
from jqm_node.api.routes import Route, route
from jqm_node.auth.permissions import Permission
from jqm_node.auth.principal import PRINCIPAL, Principal
from jqm_node.cluster.fanout import call_peers, is_forwarded
from jqm_node.node import NODE_KEY, Node

ME_PATH = "/ws/admin/me"
NODES_PATH = "/ws/cluster/nodes"
PEER_STATUS_PATH = "/peer/status"

ASKED_PERMISSIONS: tuple[Permission, ...] = tuple(
    sorted({rule.permission for rule in ROUTE_RULES.values() if rule.permission is not None}, key=str)
)
"""Every permission a route of the client listener asks for: the keys of ``may``."""


def whoami(principal: Principal | None) -> dict[str, Any]:
    """Upstream's PermissionsBagDto (``login``, ``enforced``, ``permissions``) plus ``may``."""
    if principal is None:  # authentication off: every call is open
        return {
            "login": None,
            "enforced": False,
            "permissions": ["*:*"],
            "may": {str(p): True for p in ASKED_PERMISSIONS},
        }
    return {
        "login": principal.name,
        "enforced": True,
        "permissions": sorted(str(p) for p in principal.permissions),
        "may": {str(p): principal.may(p) for p in ASKED_PERMISSIONS},
    }


async def me(request: web.Request) -> web.Response:
    """``GET /ws/admin/me``: any valid credential."""
    return json_response(whoami(request.get(PRINCIPAL)))


async def cluster_nodes(request: web.Request) -> web.StreamResponse:
    """``GET /ws/cluster/nodes``: ``{"nodes": [status of each member, by address]}``."""
    node: Node = request.app[NODE_KEY]
    statuses = [{**status_of(node), "reachable": True}]
    peers = () if is_forwarded(request) or not node.membership.configured else await node.membership.peers()
    answers = await call_peers(node.forwarder, request, dict.fromkeys(peers), path=PEER_STATUS_PATH)
    statuses += [{**answer, "reachable": True} for answer in answers.answers.values() if isinstance(answer, dict)]
    statuses += [{"ip": ip, "reachable": False} for ip in answers.failed]
    statuses.sort(key=lambda status: ipaddress.IPv4Address(str(status["ip"])))
    return answers.flag(json_response({"nodes": statuses}))


async def peer_status(request: web.Request) -> web.Response:
    """``GET /peer/status``: this node's status, for the member gathering the cluster's."""
    return json_response(status_of(request.app[NODE_KEY]))


def routes() -> list[Route]:
    return [
        route(web.get(ME_PATH, me)),
        route(web.get(NODES_PATH, cluster_nodes)),
        route(web.get(PEER_STATUS_PATH, peer_status)),
    ]
