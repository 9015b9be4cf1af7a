"""Node-to-node routes (``/peer/``): only other members of the cluster call them.

Their rule in :data:`jqm_node.api.access.ROUTE_RULES` is ``PEER``: the access middleware lets a call
reach them only with a valid peer signature (:mod:`jqm_node.cluster.peerauth`), else it answers 401.
"""

from __future__ import annotations

from aiohttp import web

from jqm_node.api.representation import json_response
from jqm_node.api.routes import Route, route
from jqm_node.cluster.handover import HANDOVER_PATH, receive_history
from jqm_node.node import NODE_KEY


async def handover(request: web.Request) -> web.Response:
    """``POST /peer/handover``: the finished history of a member that leaves (NDJSON stream)."""
    node = request.app[NODE_KEY]
    answer = await receive_history(
        request, engine=node.engine, journal=node.journal, ledger=node.ledger, self_ip=node.settings.ip
    )
    return json_response(answer)


def routes() -> list[Route]:
    return [route(web.post(HANDOVER_PATH, handover))]
