"""Node management endpoints (ours, on the management listener only): status, drain, undrain, metrics.

The operator reads ``/node/status`` to decide when a node nears its ID limit and calls
``/node/drain`` before deleting the pod. The listener (``JQM_MANAGEMENT_LISTEN``, by default
127.0.0.1:1790) is never exposed to clients; status and metrics need no credential there, drain and
undrain need ``Authorization: Bearer <content of JQM_MANAGEMENT_TOKEN_FILE>``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from jqm_node.api import durability
from jqm_node.api.representation import error_response
from jqm_node.auth.errors import AuthenticationRequiredError, PermissionDeniedError
from jqm_node.errors import BadRequestError, JqmError
from jqm_node.model import FINAL_STATES, WAITING_STATES, State
from jqm_node.node import NODE_KEY, Node

MAX_REASON_LENGTH = 200


class StoppingConflictError(JqmError):
    """An undrain while the node stops (409)."""

    code = 10
    status = HTTPStatus.CONFLICT


def node_status(node: Node) -> dict[str, Any]:
    engine, ids = node.engine, node.ids
    counters = engine.counters()
    return {
        "ip": engine.ip,
        "name": engine.node_name,
        "idsUsed": ids.used,
        "idCapacity": ids.capacity,
        "idsRemaining": ids.remaining,
        "draining": engine.draining,
        "drainReason": engine.drain_reason,
        "accepting": engine.accepting,
        "stopping": engine.shutting_down,
        "running": counters.running,
        "queued": counters.total(WAITING_STATES),
    }


def status_of(node: Node) -> dict[str, Any]:
    return {**node_status(node), "auth": node.settings.security.auth_enabled, **durability.status(node)}


async def status(request: web.Request) -> web.Response:
    return web.json_response(status_of(request.app[NODE_KEY]))


PROXIED_TOKEN = "X-Jqm-Management-Token"
"""The management token when the call comes through the Kubernetes API server's pod proxy: the API
server consumes and removes ``Authorization`` before it proxies."""


def _check_token(request: web.Request, node: Node) -> None:
    """Raises 403 without a configured token, 401 without the right one (constant-time comparison)."""
    path = node.settings.security.management_token_file
    try:
        token = path.read_text(encoding="utf-8").strip() if path is not None else ""
    except OSError as e:
        raise PermissionDeniedError(f"management token cannot be read: {e.strerror or e}") from None
    if not token:
        raise PermissionDeniedError("management token not configured")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":  # through the API server's proxy, which removes Authorization
        given = request.headers.get(PROXIED_TOKEN, "")
    if not given or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise AuthenticationRequiredError(
            f"this call needs Authorization: Bearer <management token> (or {PROXIED_TOKEN}: <management token>)"
        )


async def _drain_reason(request: web.Request) -> str:
    if not request.body_exists:
        return "unspecified"
    try:
        data = json.loads(await request.read() or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequestError('the body must be JSON: {"reason": "<text>"}') from None
    reason = data.get("reason", "unspecified") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not 0 < len(reason) <= MAX_REASON_LENGTH or not reason.isprintable():
        raise BadRequestError(f'the body must be {{"reason": "<text of 1 to {MAX_REASON_LENGTH} characters>"}}')
    return reason


Action = Callable[[web.Request, Node], Awaitable[web.Response]]


def _guarded(action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Runs ``action`` once the management token is checked; a 401 carries its Bearer challenge."""

    async def handler(request: web.Request) -> web.Response:
        node = request.app[NODE_KEY]
        try:
            _check_token(request, node)
        except AuthenticationRequiredError as e:
            response = error_response(request, e)
            response.headers["WWW-Authenticate"] = 'Bearer realm="JQM management"'
            return response
        return await action(request, node)

    return handler


async def _drain(request: web.Request, node: Node) -> web.Response:
    node.engine.drain(accept_seconds=node.settings.drain_accept_seconds, reason=await _drain_reason(request))
    return web.json_response(status_of(node), status=202)


async def _undrain(request: web.Request, node: Node) -> web.Response:
    if node.engine.shutting_down:
        raise StoppingConflictError("this node is stopping: it cannot take work again")
    node.engine.undrain()
    return web.json_response(status_of(node))


drain = _guarded(_drain)
undrain = _guarded(_undrain)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(node: Node) -> str:
    engine, ids = node.engine, node.ids
    counters = engine.counters()
    lines = [
        "# HELP jqm_jobs Job instances on this node by queue and state.",
        "# TYPE jqm_jobs gauge",
    ]
    for queue in engine.queues.values():
        for state in State:
            count = counters.by_queue_and_state.get((queue.name, state), 0)
            lines.append(f'jqm_jobs{{queue="{_label(queue.name)}",state="{state.value}"}} {count}')
    completed = counters.total(FINAL_STATES)
    lines += [
        "# HELP jqm_jobs_running Job processes running now.",
        "# TYPE jqm_jobs_running gauge",
        f"jqm_jobs_running {counters.running}",
        "# HELP jqm_jobs_enqueued_total Job instances created since the node started.",
        "# TYPE jqm_jobs_enqueued_total counter",
        f"jqm_jobs_enqueued_total {counters.enqueued}",
        "# HELP jqm_jobs_completed_total Job instances that reached a final state since the node started.",
        "# TYPE jqm_jobs_completed_total counter",
        f"jqm_jobs_completed_total {completed}",
        "# HELP jqm_ids_used Job IDs handed out by this node.",
        "# TYPE jqm_ids_used gauge",
        f"jqm_ids_used {ids.used}",
        "# HELP jqm_ids_capacity Job IDs this node may hand out in all (the ID limit, or less if the ledger has less).",
        "# TYPE jqm_ids_capacity gauge",
        f"jqm_ids_capacity {ids.capacity}",
        "# HELP jqm_ids_remaining Job IDs this node may still hand out before it must restart.",
        "# TYPE jqm_ids_remaining gauge",
        f"jqm_ids_remaining {ids.remaining}",
        "# HELP jqm_node_draining 1 while the node is draining.",
        "# TYPE jqm_node_draining gauge",
        f"jqm_node_draining {int(engine.draining)}",
        "# HELP jqm_node_info The node's address and name (always 1).",
        "# TYPE jqm_node_info gauge",
        f'jqm_node_info{{ip="{_label(engine.ip)}",name="{_label(engine.node_name)}"}} 1',
    ]
    return "\n".join(lines) + "\n"


async def metrics(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    text = render_metrics(node) + "\n".join(durability.metrics(node) + node.job_stats.exposition()) + "\n"
    return web.Response(text=text, content_type="text/plain")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/node/status", status),
        web.post("/node/drain", drain),
        web.post("/node/undrain", undrain),
        web.get("/metrics", metrics),
    ]
