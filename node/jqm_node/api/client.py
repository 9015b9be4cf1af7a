"""Upstream's client API (``/ws/client``), job instance routes: enqueue, read, query, files, instructions.

Representations: XML by default, JSON on ``Accept: application/json`` (see representation.py).
Void calls answer 204 as JAX-RS does; bulk calls take a JSON array of IDs (or an XML list) and answer
how many jobs they acted on. Queue, job definition and schedule routes are in client_queues.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from jqm_node.api import client_cluster, client_queues
from jqm_node.api.client_objects import (
    INT32_MAX,
    INT32_MIN,
    deliverable_to_dict,
    empty_job_request,
    job_request_from_dict,
    job_to_dict,
)
from jqm_node.api.client_query import empty_query
from jqm_node.api.params import parse_id, parse_int
from jqm_node.api.representation import (
    MAX_DATE_MILLIS,
    json_response,
    parse_body,
    render,
    render_list,
    wants_json,
)
from jqm_node.api.routes import Route, job_route, route
from jqm_node.api.simple import deliverable_download, job_log
from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError
from jqm_node.model import State
from jqm_node.node import NODE_KEY

PREFIX = "/ws/client"


def _engine(request: web.Request) -> Engine:
    return request.app[NODE_KEY].engine


def _job_id(request: web.Request) -> int:
    return parse_id(request.match_info["id"], name="job ID")


def _scalar(request: web.Request, value: int | list[int]) -> web.Response:
    """A number (or list of numbers): ``text/plain`` by default as JAX-RS writes a Long, JSON if asked."""
    if wants_json(request) or isinstance(value, list):
        return json_response(value)
    return web.Response(text=str(value), content_type="text/plain")


def _no_content() -> web.Response:
    return web.Response(status=204)


# ---------------------------------------------------------------------------------------- enqueue


async def enqueue(request: web.Request) -> web.Response:
    """``POST ji``: a JobRequest in, the new JobInstance out in state SUBMITTED, as upstream answers (the
    request was accepted), whatever the job has become since: held, scheduled, or already running."""
    body = await request.read()
    job_request = job_request_from_dict(parse_body(body, request.content_type))
    engine = _engine(request)
    await request.app[NODE_KEY].ready_to_enqueue()
    answer = job_to_dict(engine.enqueue(job_request), engine)
    answer["state"] = State.SUBMITTED.value
    return render(request, "jobInstance", answer)


async def enqueue_from_history(request: web.Request) -> web.Response:
    """``POST ji/{id}``: a new job with the request of an existing one; answers its ID."""
    await request.app[NODE_KEY].ready_to_enqueue()
    return _scalar(request, _engine(request).enqueue_from_history(_job_id(request)).id)


# ---------------------------------------------------------------------------------------- reads


async def get_job(request: web.Request) -> web.Response:
    engine = _engine(request)
    return render(request, "jobInstance", job_to_dict(engine.get(_job_id(request)), engine))


async def get_empty_query(request: web.Request) -> web.Response:
    return render(request, "queryBaseImpl", empty_query(_engine(request).node_name))


async def get_empty_job_request(request: web.Request) -> web.Response:
    return render(request, "jobRequestBaseImpl", empty_job_request())


async def get_messages(request: web.Request) -> web.Response:
    job = _engine(request).get(_job_id(request))
    return render_list(request, "messages", "message", list(job.messages or []))


# ---------------------------------------------------------------------------------------- files


async def get_deliverables(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    job = node.engine.get(_job_id(request))
    root = str(node.workspace.root)
    items = [deliverable_to_dict(d, root) for d in job.deliverables or []]
    return render_list(request, "deliverables", "deliverable", items)


async def get_deliverable_content(request: web.Request) -> web.StreamResponse:
    """``GET ji/files/{id}``: the content of a deliverable."""
    return deliverable_download(_engine(request), parse_id(request.match_info["id"], name="deliverable ID"))


async def post_deliverable_content(request: web.Request) -> web.StreamResponse:
    """``POST ji/files``: the content of the Deliverable given as body (only its ``id`` is used)."""
    data = parse_body(await request.read(), request.content_type)
    raw = data.get("id") if isinstance(data, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BadRequestError("the body must be a Deliverable with an id")
    return deliverable_download(_engine(request), parse_id(str(raw), name="deliverable ID"))


async def _log(request: web.Request, stream: str) -> web.StreamResponse:
    engine = _engine(request)
    return job_log(engine, engine.get(_job_id(request)), stream)


async def get_stdout(request: web.Request) -> web.StreamResponse:
    return await _log(request, "stdout")


async def get_stderr(request: web.Request) -> web.StreamResponse:
    return await _log(request, "stderr")


async def add_input_file(request: web.Request) -> web.Response:
    """``POST ji/{id}/files/{name}``: a file given to a waiting job; answers the file's ID (text).

    The body is streamed to disk within the job's input limits (see :mod:`jqm_node.inputs`)."""
    node = request.app[NODE_KEY]
    job_id = _job_id(request)
    name = node.input_files.check_name(request.match_info["name"])
    await node.ready_to_enqueue()
    file_id = node.engine.new_input_file_id(job_id)
    await node.input_files.store(job_id, name, request.content.iter_chunked(64 * 1024))
    return web.Response(text=str(file_id), content_type="text/plain")


# ---------------------------------------------------------------------------------------- instructions


def _instruction(act: Callable[[Engine, int], object]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A route that applies one engine instruction to the job of its ``{id}``; 204 as upstream's void calls."""

    async def handler(request: web.Request) -> web.Response:
        act(_engine(request), _job_id(request))
        return _no_content()

    handler.__name__ = act.__name__
    return handler


async def restart_crashed(request: web.Request) -> web.Response:
    """``DELETE ji/crashed/{id}``: enqueues a crashed job again; answers the new JobInstance."""
    engine = _engine(request)
    await request.app[NODE_KEY].ready_to_enqueue()
    return render(request, "jobInstance", job_to_dict(engine.restart_crashed(_job_id(request)), engine))


def _int32(request: web.Request, name: str) -> int:
    value = parse_int(request.match_info[name], name=name)
    if not INT32_MIN <= value <= INT32_MAX:
        raise BadRequestError(f"the {name} must be a 32-bit integer, got {value}")
    return value


async def set_position(request: web.Request) -> web.Response:
    _engine(request).set_position(_job_id(request), _int32(request, "position"))
    return _no_content()


async def set_priority(request: web.Request) -> web.Response:
    _engine(request).set_priority(_job_id(request), _int32(request, "priority"))
    return _no_content()


async def set_run_after(request: web.Request) -> web.Response:
    """``POST ji/{id}/delay/{epochMillis}``: the job waits until that date."""
    millis = parse_int(request.match_info["when"], name="epochMillis")
    if not 0 <= millis <= MAX_DATE_MILLIS:
        raise BadRequestError(f"the date must be epoch milliseconds between 0 and {MAX_DATE_MILLIS}, got {millis}")
    _engine(request).set_run_after(_job_id(request), millis / 1000)
    return _no_content()


def routes() -> list[Route]:
    """Fixed paths come before the ``{id}`` patterns they would otherwise match."""
    p = PREFIX
    return [
        route(web.get(f"{p}/ji", client_cluster.get_jobs)),
        route(web.post(f"{p}/ji", enqueue)),
        route(web.get(f"{p}/ji/active", client_cluster.get_active_jobs)),
        route(web.get(f"{p}/ji/query", get_empty_query)),
        route(web.post(f"{p}/ji/query", client_cluster.query)),
        route(web.post(f"{p}/ji/query/ids", client_cluster.query_ids)),
        route(web.post(f"{p}/ji/bulk", client_cluster.bulk_enqueue_from_history)),
        route(web.post(f"{p}/ji/killed", client_cluster.kill_many)),
        route(web.post(f"{p}/ji/paused", client_cluster.pause_many)),
        route(web.post(f"{p}/ji/resumed", client_cluster.resume_many)),
        route(web.post(f"{p}/ji/files", post_deliverable_content)),
        job_route(web.get(f"{p}/ji/files/{{id}}", get_deliverable_content)),  # a deliverable ID
        job_route(web.post(f"{p}/ji/cancelled/{{id}}", _instruction(Engine.cancel))),
        job_route(web.delete(f"{p}/ji/waiting/{{id}}", _instruction(Engine.delete_waiting))),
        job_route(web.post(f"{p}/ji/killed/{{id}}", _instruction(Engine.kill))),
        job_route(web.post(f"{p}/ji/paused/{{id}}", _instruction(Engine.pause_waiting))),
        job_route(web.delete(f"{p}/ji/paused/{{id}}", _instruction(Engine.resume_waiting))),
        job_route(web.post(f"{p}/ji/running/paused/{{id}}", _instruction(Engine.pause_running))),
        job_route(web.delete(f"{p}/ji/running/paused/{{id}}", _instruction(Engine.resume_running))),
        job_route(web.delete(f"{p}/ji/crashed/{{id}}", restart_crashed)),
        job_route(web.get(f"{p}/ji/{{id}}", get_job)),
        job_route(web.post(f"{p}/ji/{{id}}", enqueue_from_history)),
        job_route(web.get(f"{p}/ji/{{id}}/messages", get_messages)),
        job_route(web.get(f"{p}/ji/{{id}}/files", get_deliverables)),
        job_route(web.post(f"{p}/ji/{{id}}/files/{{name}}", add_input_file)),
        job_route(web.get(f"{p}/ji/{{id}}/stdout", get_stdout)),
        job_route(web.get(f"{p}/ji/{{id}}/stderr", get_stderr)),
        job_route(web.post(f"{p}/ji/{{id}}/position/{{position}}", set_position)),
        job_route(web.post(f"{p}/ji/{{id}}/priority/{{priority}}", set_priority)),
        job_route(web.post(f"{p}/ji/{{id}}/delay/{{when}}", set_run_after)),
        route(web.get(f"{p}/user/{{name}}/ji", client_cluster.get_user_jobs)),
        route(web.get(f"{p}/jr", get_empty_job_request)),
        *client_queues.routes(),
    ]
