"""Turns every failure into an errorDto response, so that no caller ever sees a bare error page.

JQM errors keep their own status; aiohttp's HTTP errors (unknown route, wrong method, body too
large) become errorDtos with their status; anything else is a 500 with the cause logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from jqm_node.api.representation import error_response
from jqm_node.errors import BadRequestError, JqmError, NotFoundError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _HttpError(JqmError):
    def __init__(self, message: str, status: int, code: int) -> None:
        super().__init__(message)
        self.status = HTTPStatus(status)
        self.code = code


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except JqmError as e:
        return error_response(request, e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = NotFoundError.code if e.status == 404 else BadRequestError.code
        message = e.reason if e.status != 404 else f"no such resource: {request.method} {request.path}"
        return error_response(request, _HttpError(message, e.status, code))
    except ValueError as e:  # malformed bodies and parameters that slipped past explicit checks
        return error_response(request, BadRequestError(f"invalid request: {e}"))
    except Exception as e:
        log.exception("internal error on %s %s", request.method, request.path)
        return error_response(request, JqmError(f"internal error: {type(e).__name__}"))
