"""Node-to-node routes (``/peer/``): only other members of the cluster call them.

A call must carry the node-to-node headers (:mod:`jqm_node.cluster.signing`); whether they are
authentic is checked before any handler runs, by the peer authentication of the node.
"""

from __future__ import annotations

from aiohttp import web

from jqm_node.api.representation import json_response
from jqm_node.cluster.forwarding import FORWARDED_BY
from jqm_node.cluster.handover import HANDOVER_PATH, receive_history
from jqm_node.errors import ForbiddenError
from jqm_node.node import NODE_KEY


async def handover(request: web.Request) -> web.Response:
    """``POST /peer/handover``: the finished history of a member that leaves (NDJSON stream)."""
    if FORWARDED_BY not in request.headers:
        raise ForbiddenError("/peer/ routes are called by the other nodes of the cluster only")
    node = request.app[NODE_KEY]
    answer = await receive_history(
        request, engine=node.engine, journal=node.journal, ledger=node.ledger, self_ip=node.settings.ip
    )
    return json_response(answer)


def routes() -> list[web.RouteDef]:
    return [web.post(HANDOVER_PATH, handover)]
