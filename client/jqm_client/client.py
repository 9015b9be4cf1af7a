"""The synchronous client: :mod:`jqm_client.calls` and :mod:`jqm_client.plans` over a :class:`Transport`.

Every method is one call of the client API (see upstream's ``JqmClient`` for their meaning) or one
plan; all of the work is in those modules, shared with :class:`jqm_client.aio.AsyncJqmClient`.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from jqm_client import calls, plans
from jqm_client.auth import Auth
from jqm_client.http import Sink, Transport
from jqm_client.models import (
    Deliverable,
    JobDef,
    JobInstance,
    JobRequest,
    LogChunk,
    LogStream,
    Query,
    QueryResult,
    Queue,
    QueueStatus,
)
from jqm_client.protocol import Call, ClientProtocol
from jqm_client.transport import DEFAULT_TIMEOUT, HttpTransport

T = TypeVar("T")

BOTH_STREAMS = (LogStream.STDOUT, LogStream.STDERR)


def job_request(request: JobRequest | str) -> JobRequest:
    return JobRequest(application_name=request) if isinstance(request, str) else request


def deliverable_id(deliverable: Deliverable | int) -> int:
    return deliverable.id if isinstance(deliverable, Deliverable) else deliverable


class JqmClient:
    """A client of one JQM node or load balancer (``url``, e.g. ``http://jqm.example:1789``), or of
    whatever ``transport`` reaches. Usable as a context manager; safe to share between threads."""

    def __init__(
        self,
        url: str | None = None,
        *,
        auth: Auth | None = None,
        transport: Transport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        poll: plans.PollPolicy = plans.DEFAULT_POLL,
    ) -> None:
        if (url is None) == (transport is None):
            raise ValueError("give either a url or a transport")
        self._transport: Transport = transport or HttpTransport(str(url), timeout=timeout, ssl_context=ssl_context)
        self._protocol = ClientProtocol(auth=auth)
        self._poll = poll

    def __repr__(self) -> str:
        return f"JqmClient({self._transport!r})"

    def __enter__(self) -> JqmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # -------------------------------------------------------------------------------- drivers

    def _run(self, call: Call[T], *, sink: Sink | None = None) -> T:
        response = self._transport.send(self._protocol.prepare(call.request), sink=sink)
        return self._protocol.finish(call, response)

    def _drive(self, plan: plans.Plan[T]) -> Generator[LogChunk, None, T]:
        answer: Any = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # StopIteration.value is Any; the plan returns T
            answer = None
            if isinstance(step, Call):
                answer = self._run(step)
            elif isinstance(step, plans.Sleep):
                time.sleep(step.seconds)
            else:
                yield step

    # -------------------------------------------------------------------------------- enqueue

    def enqueue(self, request: JobRequest | str) -> JobInstance:
        """A new job; a bare string is the application name with no other field. The answer says SUBMITTED,
        as upstream's does, whatever the job became since (held, scheduled, running): ``get_job`` tells."""
        return self._run(calls.enqueue(job_request(request)))

    def enqueue_from_history(self, job_id: int) -> int:
        return self._run(calls.enqueue_from_history(job_id))

    def bulk_enqueue_from_history(self, job_ids: Sequence[int]) -> list[int]:
        return self._run(calls.bulk_enqueue_from_history(list(job_ids)))

    def add_input_file(self, job_id: int, name: str, data: bytes) -> int:
        return self._run(calls.add_input_file(job_id, name, data))

    # -------------------------------------------------------------------------------- reads

    def get_job(self, job_id: int) -> JobInstance:
        return self._run(calls.get_job(job_id))

    def jobs(self) -> list[JobInstance]:
        return self._run(calls.jobs())

    def active_jobs(self) -> list[JobInstance]:
        return self._run(calls.active_jobs())

    def user_active_jobs(self, user: str) -> list[JobInstance]:
        return self._run(calls.user_active_jobs(user))

    def query(self, query: Query | None = None) -> QueryResult:
        return self._run(calls.query(query or Query()))

    def query_ids(self, query: Query | None = None) -> list[int]:
        return self._run(calls.query_ids(query or Query()))

    def messages(self, job_id: int) -> list[str]:
        return self._run(calls.messages(job_id))

    def wait(
        self, job_id: int, *, timeout: float | None = None, on_update: plans.OnUpdate | None = None
    ) -> JobInstance:
        """The job once it has reached a final state; :class:`~jqm_client.errors.JobTimeoutError` after
        ``timeout`` seconds."""
        return _result(self._drive(plans.wait(job_id, timeout=timeout, policy=self._poll, on_update=on_update)))

    # -------------------------------------------------------------------------------- logs and files

    def log(self, job_id: int, stream: LogStream | str = LogStream.STDOUT) -> bytes:
        return self._run(calls.log(job_id, LogStream(stream)))

    def follow_logs(
        self,
        job_id: int,
        streams: Sequence[LogStream] = BOTH_STREAMS,
        *,
        timeout: float | None = None,
        on_update: plans.OnUpdate | None = None,
    ) -> Generator[LogChunk, None, JobInstance]:
        """Yields new log bytes until the job is over (see :mod:`jqm_client.plans` for how)."""
        plan = plans.follow_logs(job_id, streams, timeout=timeout, policy=self._poll, on_update=on_update)
        return self._drive(plan)

    def deliverables(self, job_id: int) -> list[Deliverable]:
        return self._run(calls.deliverables(job_id))

    def deliverable_content(self, deliverable: Deliverable | int) -> bytes:
        return self._run(calls.deliverable_content(deliverable_id(deliverable)))

    def download_deliverable(
        self, deliverable: Deliverable | int, destination: str | os.PathLike[str] | BinaryIO
    ) -> int:
        """Streams the file into ``destination`` (a path or a binary file object); returns its size."""
        call = calls.deliverable_content(deliverable_id(deliverable))
        if isinstance(destination, str | os.PathLike):
            with Path(destination).open("wb") as out:
                return self._download(call, out)
        return self._download(call, destination)

    def _download(self, call: Call[bytes], out: BinaryIO) -> int:
        written = 0

        def sink(chunk: bytes) -> None:
            nonlocal written
            written += out.write(chunk)

        self._run(call, sink=sink)
        return written

    # -------------------------------------------------------------------------------- instructions

    def cancel(self, job_id: int) -> None:
        self._run(calls.cancel(job_id))

    def delete(self, job_id: int) -> None:
        self._run(calls.delete(job_id))

    def kill(self, job_id: int) -> None:
        self._run(calls.kill(job_id))

    def kill_many(self, job_ids: Sequence[int]) -> int:
        return self._run(calls.kill_many(list(job_ids)))

    def pause(self, job_id: int) -> None:
        self._run(calls.pause(job_id))

    def pause_many(self, job_ids: Sequence[int]) -> int:
        return self._run(calls.pause_many(list(job_ids)))

    def resume(self, job_id: int) -> None:
        self._run(calls.resume(job_id))

    def resume_many(self, job_ids: Sequence[int]) -> int:
        return self._run(calls.resume_many(list(job_ids)))

    def pause_running(self, job_id: int) -> None:
        self._run(calls.pause_running(job_id))

    def resume_running(self, job_id: int) -> None:
        self._run(calls.resume_running(job_id))

    def restart_crashed(self, job_id: int) -> JobInstance:
        return self._run(calls.restart_crashed(job_id))

    def set_position(self, job_id: int, position: int) -> None:
        self._run(calls.set_position(job_id, position))

    def set_priority(self, job_id: int, priority: int) -> None:
        self._run(calls.set_priority(job_id, priority))

    def set_run_after(self, job_id: int, when: datetime) -> None:
        self._run(calls.set_run_after(job_id, when))

    # -------------------------------------------------------------------------------- queues and definitions

    def queues(self) -> list[Queue]:
        return self._run(calls.queues())

    def queue_status(self, queue_id: int) -> QueueStatus:
        return self._run(calls.queue_status(queue_id))

    def queue_capacity(self, queue_id: int) -> int:
        return self._run(calls.queue_capacity(queue_id))

    def pause_queue(self, queue_id: int) -> None:
        self._run(calls.pause_queue(queue_id))

    def resume_queue(self, queue_id: int) -> None:
        self._run(calls.resume_queue(queue_id))

    def clear_queue(self, queue_id: int) -> None:
        self._run(calls.clear_queue(queue_id))

    def set_job_queue(self, job_id: int, queue_id: int) -> None:
        self._run(calls.set_job_queue(job_id, queue_id))

    def set_jobs_queue(self, job_ids: Sequence[int], queue_id: int) -> int:
        return self._run(calls.set_jobs_queue(list(job_ids), queue_id))

    def job_definitions(self, application: str | None = None) -> list[JobDef]:
        return self._run(calls.job_definitions(application))

    def job_definition(self, name: str) -> JobDef:
        return self._run(calls.job_definition(name))


def _result(steps: Generator[LogChunk, None, T]) -> T:
    """Runs a driven plan to its end, dropping anything it yields; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]  # StopIteration.value is Any; the plan returns T
