"""The aiohttp application of a node: routes, error handling, engine start and stop."""

from __future__ import annotations

from aiohttp import web

from jqm_node.api import client, management, openapi, simple
from jqm_node.api.errors import error_middleware
from jqm_node.node import NODE_KEY, Node

MAX_REQUEST_BYTES = 64 * 2**20  # input files may be posted to a job


def build_app(node: Node) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_REQUEST_BYTES)
    app[NODE_KEY] = node
    app.add_routes(simple.routes())
    app.add_routes(client.routes())
    app.add_routes(management.routes())
    app.add_routes(openapi.routes())
    return app
