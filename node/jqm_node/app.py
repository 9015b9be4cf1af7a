"""The aiohttp applications of a node: the client listener (routes, error handling, limits, access
control, forwarding, engine start and stop) and the private management listener."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from jqm_node.api import access, client, cluster_view, console, management, openapi, peer, simple
from jqm_node.api.errors import error_middleware
from jqm_node.api.limits import body_timeout_middleware
from jqm_node.api.routes import register
from jqm_node.cluster.forwarding import forwarding_middleware
from jqm_node.cluster.routing import id_finder
from jqm_node.node import NODE_KEY, Node

MAX_REQUEST_BYTES = 2**20
"""Request bodies read whole (JobRequest, Query, ID lists, forms); input files are streamed within
their own limits (``JQM_MAX_INPUT_BYTES``)."""


def build_app(node: Node) -> web.Application:
    security = node.settings.security
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[NODE_KEY] = node
    scopes = register(
        app.router,
        [
            *simple.routes(), *client.routes(), *openapi.routes(), *peer.routes(), *cluster_view.routes(),
            *console.routes(),
        ],
    )  # fmt: skip
    forwarding = forwarding_middleware(forwarder=node.forwarder, resolver=node.resolver, id_of=id_finder(scopes))
    rules = access.rules_for(app.router.routes(), access.ROUTE_RULES)  # every route has its rule, or no start
    guard = access.access_middleware(rules=rules, verifier=node.verifier, cluster_secret=security.cluster_secret)
    timeout = body_timeout_middleware(security.body_timeout, exempt_prefix=access.PEER_PREFIX)
    app.middlewares.extend([error_middleware, timeout, guard, forwarding])
    app.cleanup_ctx.append(_peer_connections(node))
    return app


def build_management_app(node: Node) -> web.Application:
    """Status, drain, undrain and metrics: for the operator and monitoring, never exposed to clients."""
    app = web.Application(
        middlewares=[error_middleware, body_timeout_middleware(node.settings.security.body_timeout)],
        client_max_size=64 * 1024,
    )
    app[NODE_KEY] = node
    app.add_routes(management.routes())
    return app


def _peer_connections(node: Node) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        await node.forwarder.start()
        yield
        await node.forwarder.close()
        if node.verifier is not None:
            node.verifier.close()

    return context
