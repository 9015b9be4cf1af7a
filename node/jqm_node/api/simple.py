"""Upstream's simple API (``/ws/simple``): form enqueue, status, logs, files, engine log, health."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from jqm_node.api.client_objects import checked_parameters
from jqm_node.api.params import parse_id, parse_int
from jqm_node.api.routes import Route, job_query_route, route
from jqm_node.auth.principal import acting_user
from jqm_node.engine import Engine
from jqm_node.errors import FileGoneError, FileNotFoundJqmError, InvalidEnqueueError, UnavailableError
from jqm_node.logs import tail_lines
from jqm_node.model import HeldJob, JobInstance, JobRequest
from jqm_node.node import NODE_KEY

ENGINE_LOG_MAX_LINES = 10_000
_TEXT = "text/plain"


async def enqueue(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    form = await request.post()
    names, values = form.getall("parameterNames", []), form.getall("parameterValues", [])
    if len(names) != len(values):
        raise InvalidEnqueueError("There should be as many parameter names as parameter values")
    parent = form.get("parentid")
    await node.ready_to_enqueue()
    job = node.engine.enqueue(
        JobRequest(
            application_name=_text(form.get("applicationname")) or "",
            module=_text(form.get("module")),
            email=_text(form.get("mail")),
            keyword1=_text(form.get("keyword1")),
            keyword2=_text(form.get("keyword2")),
            keyword3=_text(form.get("keyword3")),
            parent_id=parse_id(_text(parent), name="parentid") if parent else None,
            user=_text(form.get("user")) or acting_user(request) or None,  # upstream: the caller by default
            session_id=_text(form.get("sessionid")),
            parameters=checked_parameters({_text(n) or "": _text(v) or "" for n, v in zip(names, values, strict=True)}),
        )
    )
    return web.Response(text=str(job.id), content_type=_TEXT)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidEnqueueError("form fields must be text, not files")


async def status(request: web.Request) -> web.Response:
    job = request.app[NODE_KEY].engine.get(parse_id(request.query.get("id")))
    return web.Response(text=job.state.value, content_type=_TEXT)


async def stdout(request: web.Request) -> web.StreamResponse:
    return await _job_log(request, "stdout")


async def stderr(request: web.Request) -> web.StreamResponse:
    return await _job_log(request, "stderr")


async def _job_log(request: web.Request, stream: str) -> web.StreamResponse:
    engine = request.app[NODE_KEY].engine
    return job_log(engine, engine.get(parse_id(request.query.get("id"))), stream)


def job_log(engine: Engine, job: JobInstance, stream: str) -> web.StreamResponse:
    """A job's stdout or stderr as a download; for a held job, the part that was handed over."""
    filename = f"{job.id}.{stream}.txt"
    if isinstance(job, HeldJob):
        return web.Response(
            body=engine.history.log(job, stream),
            headers={"Content-Disposition": f"attachment; filename={filename}"},
            content_type="application/octet-stream",
        )
    workspace = engine.workspace
    path = workspace.stdout_path(job.id) if stream == "stdout" else workspace.stderr_path(job.id)
    return attachment(Path(path), filename)


def attachment(path: Path, filename: str) -> web.StreamResponse:
    """The file as a download; a log that was never written (or was empty) is an empty download."""
    headers = {"Content-Disposition": f"attachment; filename={filename}"}
    if not path.exists():
        return web.Response(body=b"", headers=headers, content_type="application/octet-stream")
    response = web.FileResponse(path, headers=headers)
    response.content_type = "application/octet-stream"
    return response


def deliverable_download(engine: Engine, deliverable_id: int) -> web.StreamResponse:
    """The content of a deliverable; 410 for one of a handed-over job (its content stayed on its node)."""
    item = engine.deliverable(deliverable_id)
    if deliverable_id in engine.history.deliverables:
        raise FileGoneError(
            f"the content of deliverable {item.id} stayed on the node that ran job {item.job_id}, which has left "
            "the cluster: a handover keeps the list of deliverables, not their content"
        )
    path = Path(item.path)
    if not path.is_file():
        raise FileNotFoundJqmError(f"the file of deliverable {item.id} is no longer on this node")
    return attachment(path, f"{item.file_family}.{item.id}{Path(item.original_name).suffix}")


async def deliverable(request: web.Request) -> web.StreamResponse:
    return deliverable_download(request.app[NODE_KEY].engine, parse_id(request.query.get("id")))


async def engine_log(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    latest = min(max(parse_int(request.query.get("latest"), name="latest", default=0), 0), ENGINE_LOG_MAX_LINES)
    newest_first = reversed(tail_lines(node.workspace.engine_log, latest))  # upstream's order
    return web.Response(text="".join(line + "\n" for line in newest_first), content_type=_TEXT)


async def health(request: web.Request) -> web.Response:
    engine = request.app[NODE_KEY].engine
    why = engine.not_dispatching_reason()
    if why is not None:
        raise UnavailableError(f"JQM node is not taking new jobs ({why}) - IP: {engine.ip}")
    return web.Response(text=f"Pollers are polling - IP: {engine.ip}", content_type=_TEXT)


def routes() -> list[Route]:
    return [
        route(web.post("/ws/simple/ji", enqueue)),
        job_query_route(web.get("/ws/simple/status", status)),
        job_query_route(web.get("/ws/simple/stdout", stdout)),
        job_query_route(web.get("/ws/simple/stderr", stderr)),
        job_query_route(web.get("/ws/simple/file", deliverable)),
        route(web.get("/ws/simple/enginelog", engine_log)),
        route(web.get("/ws/simple/localnode/health", health)),
    ]
