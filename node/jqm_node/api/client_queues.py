"""Upstream's client API (``/ws/client``): queues, job definitions, and the schedule routes a node refuses.

A standalone node is the only node polling its queues, so a queue's status is RUNNING or PAUSED
(never PARTIALLY_RUNNING) and its enabled capacity is its slot count while enabled.
"""

from __future__ import annotations

from aiohttp import web

from jqm_node.api import client_cluster
from jqm_node.api.client_objects import jobdef_to_dict, queue_to_dict
from jqm_node.api.params import parse_id
from jqm_node.api.representation import json_response, render, render_list, wants_json
from jqm_node.api.routes import Route, job_route, route
from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError, NotFoundError
from jqm_node.model import Queue
from jqm_node.node import NODE_KEY

PREFIX = "/ws/client"


def _engine(request: web.Request) -> Engine:
    return request.app[NODE_KEY].engine


def _queue(request: web.Request) -> Queue:
    return _engine(request).queue_by_id(parse_id(request.match_info["queue"], name="queue ID"))


async def get_queues(request: web.Request) -> web.Response:
    queues = sorted(_engine(request).queues.values(), key=lambda q: q.id)
    return render_list(request, "queues", "queue", [queue_to_dict(q) for q in queues])


async def set_job_queue(request: web.Request) -> web.Response:
    """``POST q/{queue}/{job}``: moves a waiting job to another queue."""
    queue = _queue(request)
    _engine(request).set_queue(parse_id(request.match_info["job"], name="job ID"), queue)
    return web.Response(status=204)


async def pause_queue(request: web.Request) -> web.Response:
    _engine(request).pause_queue(_queue(request))
    return web.Response(status=204)


async def resume_queue(request: web.Request) -> web.Response:
    _engine(request).resume_queue(_queue(request))
    return web.Response(status=204)


async def clear_queue(request: web.Request) -> web.Response:
    _engine(request).clear_queue(_queue(request))
    return web.Response(status=204)


async def queue_status(request: web.Request) -> web.Response:
    """``GET q/{queue}/status``: ``<queueStatus>RUNNING</queueStatus>`` (or a JSON string)."""
    return render(request, "queueStatus", _engine(request).queue_status(_queue(request)).value)


async def queue_capacity(request: web.Request) -> web.Response:
    """``GET q/{queue}/enabled-capacity``: slots of the queue while it is enabled, else 0 (text or JSON)."""
    queue = _queue(request)
    capacity = queue.max_threads if queue.enabled else 0
    if wants_json(request):
        return json_response(capacity)
    return web.Response(text=str(capacity), content_type="text/plain")


async def get_job_definitions(request: web.Request) -> web.Response:
    engine = _engine(request)
    return render_list(request, "jobDefs", "jobDef", [jobdef_to_dict(jd, engine) for jd in engine.definitions.values()])


async def get_application_job_definitions(request: web.Request) -> web.Response:
    """``GET jd/{application}``: the job definitions whose ``application`` tag is the one given."""
    engine = _engine(request)
    application = request.match_info["application"]
    found = [jobdef_to_dict(jd, engine) for jd in engine.definitions.values() if jd.application == application]
    return render_list(request, "jobDefs", "jobDef", found)


async def get_job_definition(request: web.Request) -> web.Response:
    engine = _engine(request)
    name = request.match_info["name"]
    jd = engine.definitions.get(name)
    if jd is None:
        raise NotFoundError(f"No job definition named {name}")
    return render(request, "jobDef", jobdef_to_dict(jd, engine))


async def schedules_unsupported(request: web.Request) -> web.Response:
    raise BadRequestError(
        "schedules (recurrences) are not supported by a standalone JQM node: "
        "use runAfter or POST ji/{id}/delay/{epochMillis} for a delayed job"
    )


def routes() -> list[Route]:
    """Fixed paths come before the ``{job}`` pattern they would otherwise match."""
    p = PREFIX
    return [
        route(web.get(f"{p}/q", get_queues)),
        route(web.post(f"{p}/q/{{queue}}/bulk", client_cluster.set_jobs_queue)),
        # The official Java client's setJobQueues posts to .../jobs, upstream's server serves .../bulk.
        route(web.post(f"{p}/q/{{queue}}/jobs", client_cluster.set_jobs_queue)),
        route(web.post(f"{p}/q/{{queue}}/pause", pause_queue)),
        route(web.delete(f"{p}/q/{{queue}}/pause", resume_queue)),
        route(web.post(f"{p}/q/{{queue}}/clear", clear_queue)),
        route(web.get(f"{p}/q/{{queue}}/status", queue_status)),
        route(web.get(f"{p}/q/{{queue}}/enabled-capacity", queue_capacity)),
        job_route(web.post(f"{p}/q/{{queue}}/{{job}}", set_job_queue), parameter="job"),
        route(web.get(f"{p}/jd", get_job_definitions)),
        route(web.get(f"{p}/jd/name/{{name}}", get_job_definition)),
        route(web.get(f"{p}/jd/{{application}}", get_application_job_definitions)),
        route(web.delete(f"{p}/schedule/{{schedule}}", schedules_unsupported)),
        route(web.post(f"{p}/schedule/{{schedule}}/queue/{{queue}}", schedules_unsupported)),
        route(web.post(f"{p}/schedule/{{schedule}}/cron/{{cron}}", schedules_unsupported)),
        route(web.post(f"{p}/schedule/{{schedule}}/priority/{{priority}}", schedules_unsupported)),
    ]
