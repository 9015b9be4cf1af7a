"""The aiohttp application of a node: routes, error handling, forwarding, engine start and stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from jqm_node.api import client, management, openapi, peer, simple
from jqm_node.api.errors import error_middleware
from jqm_node.cluster.forwarding import forwarding_middleware
from jqm_node.cluster.routing import object_id_of
from jqm_node.node import NODE_KEY, Node

MAX_REQUEST_BYTES = 64 * 2**20  # input files may be posted to a job


def build_app(node: Node) -> web.Application:
    forwarding = forwarding_middleware(forwarder=node.forwarder, resolver=node.resolver, id_of=object_id_of)
    app = web.Application(middlewares=[error_middleware, forwarding], client_max_size=MAX_REQUEST_BYTES)
    app[NODE_KEY] = node
    app.add_routes(simple.routes())
    app.add_routes(client.routes())
    app.add_routes(management.routes())
    app.add_routes(openapi.routes())
    app.add_routes(peer.routes())
    app.cleanup_ctx.append(_peer_connections(node))
    return app


def _peer_connections(node: Node) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        await node.forwarder.start()
        yield
        await node.forwarder.close()

    return context
