"""Job-scoped routes are declared where they are listed; forwarding finds a request's job ID from that."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from jqm_node.api import client, openapi, peer, simple
from jqm_node.api.routes import Route, register
from jqm_node.cluster.forwarding import Handler
from jqm_node.cluster.routing import JobScope, id_finder

ALL: list[Route] = [*simple.routes(), *client.routes(), *openapi.routes(), *peer.routes()]


def test_every_route_about_one_job_says_so() -> None:
    """A route with a job or deliverable ID in its path (``{id}``, ``{job}``) must be job-scoped, and only those;
    the simple API's reads take the ID as ``?id=``."""
    for item in ALL:
        path = item.definition.path
        if "{id}" in path or "{job}" in path:
            assert item.scope is not None and f"{{{item.scope.path_parameter}}}" in path, path
        elif path in ("/ws/simple/status", "/ws/simple/stdout", "/ws/simple/stderr", "/ws/simple/file"):
            assert item.scope == JobScope(query_parameter="id"), path
        else:
            assert item.scope is None, path


async def test_the_id_of_a_request_comes_from_its_route_declaration() -> None:
    """Every request goes through the middleware forwarding uses: it answers the ID it found instead."""
    app = web.Application()
    find = id_finder(register(app.router, ALL))

    @web.middleware
    async def answer_the_id(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.json_response(find(request))

    app.middlewares.append(answer_the_id)
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:

        async def id_of(method: str, path: str) -> int | None:
            response = await http.request(method, path)
            found: int | None = await response.json()
            return found

        assert await id_of("GET", "/ws/client/ji/2130706433000001") == 2130706433000001
        assert await id_of("POST", "/ws/client/q/1/2130706433000002") == 2130706433000002
        assert await id_of("GET", "/ws/simple/stdout?id=2130706433000003") == 2130706433000003
        assert await id_of("DELETE", "/ws/client/ji/crashed/2130706433000004") == 2130706433000004
        assert await id_of("GET", "/ws/client/q/1/status") is None
        assert await id_of("GET", "/ws/client/ji/notanumber") is None
        assert await id_of("GET", "/ws/client/jd/name/123") is None
        assert await id_of("PUT", "/ws/client/ji/2130706433000001") is None  # no such method: answered locally
