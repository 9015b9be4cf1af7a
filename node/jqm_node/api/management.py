"""Node management endpoints (ours, outside ``/ws``): status, drain and Prometheus metrics.

The operator reads ``/node/status`` to decide when a node nears its ID limit and calls
``/node/drain`` before deleting the pod.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from jqm_node.api import durability
from jqm_node.engine import Engine
from jqm_node.model import FINAL_STATES, WAITING_STATES, State
from jqm_node.node import NODE_KEY


def node_status(engine: Engine) -> dict[str, Any]:
    return {
        "ip": engine.ip,
        "name": engine.node_name,
        "idsUsed": engine.ids.used,
        "idCapacity": engine.ids.capacity,
        "idsRemaining": engine.ids.remaining,
        "draining": engine.draining,
        "accepting": engine.accepting,
        "stopping": engine.stopping,
        "running": len(engine.running),
        "queued": engine.count(WAITING_STATES),
    }


async def status(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    return web.json_response({**node_status(node.engine), **durability.status(node)})


async def drain(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    engine = node.engine
    engine.drain(accept_seconds=node.settings.drain_accept_seconds)
    return web.json_response({**node_status(engine), **durability.status(node)}, status=202)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(engine: Engine) -> str:
    lines = [
        "# HELP jqm_jobs Job instances on this node by queue and state.",
        "# TYPE jqm_jobs gauge",
    ]
    for queue in engine.queues.values():
        for state in State:
            count = engine.state_counts.get((queue.name, state), 0)
            lines.append(f'jqm_jobs{{queue="{_label(queue.name)}",state="{state.value}"}} {count}')
    completed = engine.count(FINAL_STATES)
    lines += [
        "# HELP jqm_jobs_running Job processes running now.",
        "# TYPE jqm_jobs_running gauge",
        f"jqm_jobs_running {len(engine.running)}",
        "# HELP jqm_jobs_enqueued_total Job instances created since the node started.",
        "# TYPE jqm_jobs_enqueued_total counter",
        f"jqm_jobs_enqueued_total {engine.enqueued_total}",
        "# HELP jqm_jobs_completed_total Job instances that reached a final state since the node started.",
        "# TYPE jqm_jobs_completed_total counter",
        f"jqm_jobs_completed_total {completed}",
        "# HELP jqm_ids_used Job IDs handed out by this node.",
        "# TYPE jqm_ids_used gauge",
        f"jqm_ids_used {engine.ids.used}",
        "# HELP jqm_ids_remaining Job IDs this node may still hand out before it must restart.",
        "# TYPE jqm_ids_remaining gauge",
        f"jqm_ids_remaining {engine.ids.remaining}",
        "# HELP jqm_node_draining 1 while the node is draining.",
        "# TYPE jqm_node_draining gauge",
        f"jqm_node_draining {int(engine.draining)}",
    ]
    return "\n".join(lines) + "\n"


async def metrics(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    text = render_metrics(node.engine) + "\n".join(durability.metrics(node)) + "\n"
    return web.Response(text=text, content_type="text/plain")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/node/status", status),
        web.post("/node/drain", drain),
        web.get("/metrics", metrics),
    ]
