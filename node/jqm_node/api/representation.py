"""Content negotiation and the errorDto body, in upstream's two representations.

XML is JQM's default (JAXB style: root element named after the class with a lower-case first
letter, one child element per field); JSON is chosen when the client's Accept header asks for it.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from jqm_node.errors import JqmError

JSON = "application/json"
XML = "application/xml"


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept and "xml" not in accept.split("json")[0]


def error_body(error: JqmError) -> dict[str, Any]:
    return {
        "userReadableMessage": error.message,
        "developerMessage": error.developer_message,
        "stacktrace": None,
        "errorCode": error.code,
        "userMessageKey": None,
        "userMessageParams": None,
        "httpStatus": int(error.status),
    }


def error_response(request: web.Request, error: JqmError) -> web.Response:
    body = error_body(error)
    if wants_json(request):
        return web.json_response(body, status=error.status)
    fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in body.items() if v is not None)
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><errorDto>{fields}</errorDto>'
    return web.Response(text=xml, status=error.status, content_type=XML)
