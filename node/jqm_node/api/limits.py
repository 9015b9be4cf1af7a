"""Limits on what a client may hold: the time to send a request body (a slow-body client is dropped).

The time to send the headers is aiohttp's own ``keepalive_timeout`` (see ``cli``): it runs from the
moment a connection opens or finishes its previous answer until a request's headers are complete,
and closes the connection when it expires (which also closes idle keep-alive connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import StreamReader, web
from aiohttp.typedefs import Middleware

from jqm_node.errors import JqmError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BodyTimeoutError(JqmError):
    code = 10
    status = HTTPStatus.REQUEST_TIMEOUT


def _expire(body: StreamReader, seconds: float) -> None:
    if not body.is_eof():
        body.set_exception(BodyTimeoutError(f"the request body did not arrive within {seconds:g}s"))


def body_timeout_middleware(seconds: float, *, exempt_prefix: str | None = None) -> Middleware:
    """A request whose body has not fully arrived ``seconds`` after its headers fails with 408: its
    handler's read raises, the errorDto is sent and the connection closed (``lingering_time=0``).

    Paths under ``exempt_prefix`` are left alone: node-to-node routes, whose handlers run only for
    signed calls and whose sender bounds the time itself (a handover: ``JQM_HANDOVER_TIMEOUT``)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or (exempt_prefix is not None and request.path.startswith(exempt_prefix)):
            return await handler(request)
        timer = asyncio.get_running_loop().call_later(seconds, _expire, request.content, seconds)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return middleware
