"""Which requests are about one job (or deliverable), and which job.

Convention of the route tables: a path parameter named ``{id}``, ``{jobId}`` or ``{job}`` is a job
or deliverable ID; the simple API passes it as the ``id`` query parameter. Both kinds of ID encode the
creating node's address, so this is all forwarding needs to know.
"""

from __future__ import annotations

from aiohttp import web

from jqm_node.ids import ID_CEILING

_PATH_PARAMETERS = ("id", "jobId", "job")
_QUERY_ID_PATHS = frozenset({"/ws/simple/status", "/ws/simple/stdout", "/ws/simple/stderr", "/ws/simple/file"})


def object_id_of(request: web.Request) -> int | None:
    """The ID a request is about, or None (not job-scoped, or not a valid ID: the handler says why)."""
    if request.match_info.http_exception is not None:
        return None  # no such route or method: answered locally with 404/405
    if request.path in _QUERY_ID_PATHS:
        raw = request.query.get("id")
    else:
        info = request.match_info
        raw = next((info[name] for name in _PATH_PARAMETERS if name in info), None)
    if raw is None or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value < ID_CEILING else None
