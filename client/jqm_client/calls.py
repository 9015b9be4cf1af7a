"""One function per client API operation, each returning a :class:`~jqm_client.protocol.Call`.

Paths, methods and answers follow upstream's ``/ws/client`` service (``ServiceClient``). IDs are
checked to be non-negative integers and names are percent-encoded, so no argument can change a path.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime
from typing import Any

from jqm_client import codec
from jqm_client.errors import JqmProtocolError
from jqm_client.http import HttpRequest, HttpResponse
from jqm_client.models import (
    Deliverable,
    JobDef,
    JobInstance,
    JobRequest,
    LogStream,
    Query,
    QueryResult,
    Queue,
    QueueStatus,
)
from jqm_client.protocol import JSON, Call, json_body

PREFIX = "/ws/client"
PARTIAL_RESULTS_HEADER = "X-Jqm-Partial-Results"
RANGE_NOT_SATISFIABLE = 416


def _id(value: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return str(value)


def _name(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} must not be empty")
    return urllib.parse.quote(value, safe="")


def _request(method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None) -> HttpRequest:
    all_headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = JSON
    return HttpRequest(method=method, path=PREFIX + path, headers=all_headers, body=data)


def _nothing(_: HttpResponse) -> None:
    return None


def _integer(response: HttpResponse) -> int:
    return codec.integer_of(json_body(response), "a number")


def _integers(response: HttpResponse) -> list[int]:
    return [codec.integer_of(item, "an ID") for item in codec.list_of(json_body(response), "IDs")]


def _job(response: HttpResponse) -> JobInstance:
    return codec.job_from_json(json_body(response))


def _jobs(response: HttpResponse) -> list[JobInstance]:
    return [codec.job_from_json(item) for item in codec.list_of(json_body(response), "JobInstance")]


def _void(method: str, path: str) -> Call[None]:
    return Call(_request(method, path), _nothing)


# ------------------------------------------------------------------------------------------ enqueue


def enqueue(request: JobRequest) -> Call[JobInstance]:
    return Call(_request("POST", "/ji", body=codec.job_request_to_json(request)), _job)


def enqueue_from_history(job_id: int) -> Call[int]:
    """A new job with the request of an existing one; answers its ID."""
    return Call(_request("POST", f"/ji/{_id(job_id, 'job_id')}"), _integer)


def bulk_enqueue_from_history(job_ids: list[int]) -> Call[list[int]]:
    return Call(_request("POST", "/ji/bulk", body=[int(_id(i, "job ID")) for i in job_ids]), _integers)


def add_input_file(job_id: int, name: str, data: bytes) -> Call[int]:
    """A file given to a job that has not started yet; answers the file's ID (plain text)."""
    request = HttpRequest(
        method="POST",
        path=f"{PREFIX}/ji/{_id(job_id, 'job_id')}/files/{_name(name, 'file name')}",
        headers={"Content-Type": "application/octet-stream"},
        body=data,
    )

    def file_id(response: HttpResponse) -> int:
        try:
            return int(response.body.decode().strip())
        except (UnicodeDecodeError, ValueError):
            raise JqmProtocolError(f"expected a file ID, got {response.body[:80]!r}") from None

    return Call(request, file_id)


# ------------------------------------------------------------------------------------------ reads


def get_job(job_id: int) -> Call[JobInstance]:
    return Call(_request("GET", f"/ji/{_id(job_id, 'job_id')}"), _job)


def jobs() -> Call[list[JobInstance]]:
    """The first 50 jobs by ID (waiting, running or finished), as upstream's ``getJobs``."""
    return Call(_request("GET", "/ji"), _jobs)


def active_jobs() -> Call[list[JobInstance]]:
    return Call(_request("GET", "/ji/active"), _jobs)


def user_active_jobs(user: str) -> Call[list[JobInstance]]:
    return Call(_request("GET", f"/user/{_name(user, 'user')}/ji"), _jobs)


def _missing_nodes(response: HttpResponse) -> list[str]:
    value = response.header(PARTIAL_RESULTS_HEADER) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


def query(q: Query) -> Call[QueryResult]:
    def result(response: HttpResponse) -> QueryResult:
        return codec.query_result_from_json(json_body(response), missing_nodes=_missing_nodes(response))

    return Call(_request("POST", "/ji/query", body=codec.query_to_json(q)), result)


def query_ids(q: Query) -> Call[list[int]]:
    return Call(_request("POST", "/ji/query/ids", body=codec.query_to_json(q)), _integers)


def messages(job_id: int) -> Call[list[str]]:
    def texts(response: HttpResponse) -> list[str]:
        items = codec.list_of(json_body(response), "messages")
        if not all(isinstance(item, str) for item in items):
            raise JqmProtocolError("messages should be strings")
        return items

    return Call(_request("GET", f"/ji/{_id(job_id, 'job_id')}/messages"), texts)


# ------------------------------------------------------------------------------------------ files


def deliverables(job_id: int) -> Call[list[Deliverable]]:
    def items(response: HttpResponse) -> list[Deliverable]:
        return [codec.deliverable_from_json(i) for i in codec.list_of(json_body(response), "Deliverable")]

    return Call(_request("GET", f"/ji/{_id(job_id, 'job_id')}/files"), items)


def deliverable_content(deliverable_id: int) -> Call[bytes]:
    """The file's bytes (or, given a sink to the transport, nothing: the bytes went to the sink)."""
    request = _request("GET", f"/ji/files/{_id(deliverable_id, 'deliverable_id')}")
    return Call(request, lambda response: response.body)


def log(job_id: int, stream: LogStream, *, offset: int = 0) -> Call[bytes]:
    """The bytes of a job's log from ``offset`` on (a ``Range`` request: a log only grows)."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    request = _request("GET", f"/ji/{_id(job_id, 'job_id')}/{LogStream(stream).value}", headers=headers)

    def new_bytes(response: HttpResponse) -> bytes:
        if response.status == RANGE_NOT_SATISFIABLE:  # nothing past offset yet
            return b""
        if response.status == 206:
            return response.body
        return response.body[offset:]  # the whole file: the server ignored the range

    return Call(request, new_bytes, ok=frozenset({200, 206, RANGE_NOT_SATISFIABLE}))


# ------------------------------------------------------------------------------------------ instructions


def cancel(job_id: int) -> Call[None]:
    """A waiting job ends CANCELLED (it stays in history)."""
    return _void("POST", f"/ji/cancelled/{_id(job_id, 'job_id')}")


def delete(job_id: int) -> Call[None]:
    """A waiting job is removed without a trace."""
    return _void("DELETE", f"/ji/waiting/{_id(job_id, 'job_id')}")


def kill(job_id: int) -> Call[None]:
    return _void("POST", f"/ji/killed/{_id(job_id, 'job_id')}")


def _bulk(path: str, job_ids: list[int]) -> Call[int]:
    return Call(_request("POST", path, body=[int(_id(i, "job ID")) for i in job_ids]), _integer)


def kill_many(job_ids: list[int]) -> Call[int]:
    return _bulk("/ji/killed", job_ids)


def pause(job_id: int) -> Call[None]:
    """A waiting job is held (HOLDED) until resumed."""
    return _void("POST", f"/ji/paused/{_id(job_id, 'job_id')}")


def pause_many(job_ids: list[int]) -> Call[int]:
    return _bulk("/ji/paused", job_ids)


def resume(job_id: int) -> Call[None]:
    """A held waiting job waits again."""
    return _void("DELETE", f"/ji/paused/{_id(job_id, 'job_id')}")


def resume_many(job_ids: list[int]) -> Call[int]:
    return _bulk("/ji/resumed", job_ids)


def pause_running(job_id: int) -> Call[None]:
    return _void("POST", f"/ji/running/paused/{_id(job_id, 'job_id')}")


def resume_running(job_id: int) -> Call[None]:
    return _void("DELETE", f"/ji/running/paused/{_id(job_id, 'job_id')}")


def restart_crashed(job_id: int) -> Call[JobInstance]:
    """A crashed job runs again (upstream replaces its failed history); answers the new instance."""
    return Call(_request("DELETE", f"/ji/crashed/{_id(job_id, 'job_id')}"), _job)


def set_position(job_id: int, position: int) -> Call[None]:
    return _void("POST", f"/ji/{_id(job_id, 'job_id')}/position/{int(position)}")


def set_priority(job_id: int, priority: int) -> Call[None]:
    return _void("POST", f"/ji/{_id(job_id, 'job_id')}/priority/{int(priority)}")


def set_run_after(job_id: int, when: datetime) -> Call[None]:
    return _void("POST", f"/ji/{_id(job_id, 'job_id')}/delay/{codec.to_millis(when)}")


# ------------------------------------------------------------------------------------------ queues


def queues() -> Call[list[Queue]]:
    def items(response: HttpResponse) -> list[Queue]:
        return [codec.queue_from_json(item) for item in codec.list_of(json_body(response), "Queue")]

    return Call(_request("GET", "/q"), items)


def queue_status(queue_id: int) -> Call[QueueStatus]:
    request = _request("GET", f"/q/{_id(queue_id, 'queue_id')}/status")
    return Call(request, lambda response: codec.queue_status_from_json(json_body(response)))


def queue_capacity(queue_id: int) -> Call[int]:
    """The queue's slots while it is enabled, else 0."""
    return Call(_request("GET", f"/q/{_id(queue_id, 'queue_id')}/enabled-capacity"), _integer)


def pause_queue(queue_id: int) -> Call[None]:
    return _void("POST", f"/q/{_id(queue_id, 'queue_id')}/pause")


def resume_queue(queue_id: int) -> Call[None]:
    return _void("DELETE", f"/q/{_id(queue_id, 'queue_id')}/pause")


def clear_queue(queue_id: int) -> Call[None]:
    """Removes every waiting job of the queue."""
    return _void("POST", f"/q/{_id(queue_id, 'queue_id')}/clear")


def set_job_queue(job_id: int, queue_id: int) -> Call[None]:
    return _void("POST", f"/q/{_id(queue_id, 'queue_id')}/{_id(job_id, 'job_id')}")


def set_jobs_queue(job_ids: list[int], queue_id: int) -> Call[int]:
    return _bulk(f"/q/{_id(queue_id, 'queue_id')}/bulk", job_ids)


# ------------------------------------------------------------------------------------------ job definitions


def _jobdefs(response: HttpResponse) -> list[JobDef]:
    return [codec.jobdef_from_json(item) for item in codec.list_of(json_body(response), "JobDef")]


def job_definitions(application: str | None = None) -> Call[list[JobDef]]:
    """Every job definition, or those whose ``application`` tag is the one given."""
    path = "/jd" if application is None else f"/jd/{_name(application, 'application')}"
    return Call(_request("GET", path), _jobdefs)


def job_definition(name: str) -> Call[JobDef]:
    request = _request("GET", f"/jd/name/{_name(name, 'name')}")
    return Call(request, lambda response: codec.jobdef_from_json(json_body(response)))
