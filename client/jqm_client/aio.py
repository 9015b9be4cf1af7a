"""The asynchronous client, on aiohttp (the ``client`` extra): the same calls and plans as
:class:`jqm_client.JqmClient`, awaited.

Use it as ``async with AsyncJqmClient(url, auth=...) as jqm: job = await jqm.enqueue("DemoEcho")``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import aiohttp

from jqm_client import calls, plans
from jqm_client.auth import Auth
from jqm_client.client import BOTH_STREAMS, deliverable_id, job_request
from jqm_client.errors import JqmConnectionError
from jqm_client.http import AsyncTransport, HttpRequest, HttpResponse, Sink, is_success, lower_headers
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
from jqm_client.transport import CHUNK, DEFAULT_TIMEOUT, split_base_url

T = TypeVar("T")


class AiohttpTransport:
    """Implements :class:`jqm_client.http.AsyncTransport`; owns its session unless one is given."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        split_base_url(base_url)  # checks it
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"AiohttpTransport({self.base_url!r})"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout, trust_env=False)
        return self._session

    async def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse:
        url = self.base_url + request.target
        try:
            async with self._client().request(
                request.method,
                url,
                headers=dict(request.headers),
                data=request.body,
                ssl=self._ssl,
                allow_redirects=False,
                auto_decompress=True,
            ) as answer:
                headers = lower_headers(list(answer.headers.items()))
                if sink is None or not is_success(answer.status):
                    return HttpResponse(status=answer.status, headers=headers, body=await answer.read())
                async for chunk in answer.content.iter_chunked(CHUNK):
                    sink(chunk)
                return HttpResponse(status=answer.status, headers=headers)
        except TimeoutError as e:
            raise JqmConnectionError(f"{request.method} {url}: no answer within {self._timeout:g}s") from e
        except aiohttp.ClientError as e:
            raise JqmConnectionError(f"{request.method} {url}: {e}") from e

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None


class AsyncJqmClient:
    """The asynchronous twin of :class:`jqm_client.JqmClient` (same methods, awaited)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        auth: Auth | None = None,
        transport: AsyncTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        poll: plans.PollPolicy = plans.DEFAULT_POLL,
    ) -> None:
        if (url is None) == (transport is None):
            raise ValueError("give either a url or a transport")
        self._transport: AsyncTransport = transport or AiohttpTransport(
            str(url), timeout=timeout, ssl_context=ssl_context
        )
        self._protocol = ClientProtocol(auth=auth)
        self._poll = poll

    def __repr__(self) -> str:
        return f"AsyncJqmClient({self._transport!r})"

    async def __aenter__(self) -> AsyncJqmClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    # -------------------------------------------------------------------------------- drivers

    async def _run(self, call: Call[T], *, sink: Sink | None = None) -> T:
        response = await self._transport.send(self._protocol.prepare(call.request), sink=sink)
        return self._protocol.finish(call, response)

    async def _step(self, step: plans.Step) -> Any:
        """Does a Call or a Sleep step; the answer to send back into the plan."""
        if isinstance(step, Call):
            return await self._run(step)
        if isinstance(step, plans.Sleep):
            await asyncio.sleep(step.seconds)
        return None

    async def _result(self, plan: plans.Plan[T]) -> T:
        answer: Any = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]  # StopIteration.value is Any; the plan returns T
            answer = await self._step(step)

    async def _chunks(self, plan: plans.Plan[Any]) -> AsyncIterator[LogChunk]:
        answer: Any = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration:
                return
            if isinstance(step, LogChunk):
                answer = None
                yield step
            else:
                answer = await self._step(step)

    # -------------------------------------------------------------------------------- enqueue

    async def enqueue(self, request: JobRequest | str) -> JobInstance:
        return await self._run(calls.enqueue(job_request(request)))

    async def enqueue_from_history(self, job_id: int) -> int:
        return await self._run(calls.enqueue_from_history(job_id))

    async def bulk_enqueue_from_history(self, job_ids: Sequence[int]) -> list[int]:
        return await self._run(calls.bulk_enqueue_from_history(list(job_ids)))

    async def add_input_file(self, job_id: int, name: str, data: bytes) -> int:
        return await self._run(calls.add_input_file(job_id, name, data))

    # -------------------------------------------------------------------------------- reads

    async def get_job(self, job_id: int) -> JobInstance:
        return await self._run(calls.get_job(job_id))

    async def jobs(self) -> list[JobInstance]:
        return await self._run(calls.jobs())

    async def active_jobs(self) -> list[JobInstance]:
        return await self._run(calls.active_jobs())

    async def user_active_jobs(self, user: str) -> list[JobInstance]:
        return await self._run(calls.user_active_jobs(user))

    async def query(self, query: Query | None = None) -> QueryResult:
        return await self._run(calls.query(query or Query()))

    async def query_ids(self, query: Query | None = None) -> list[int]:
        return await self._run(calls.query_ids(query or Query()))

    async def messages(self, job_id: int) -> list[str]:
        return await self._run(calls.messages(job_id))

    async def wait(
        self,
        job_id: int,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the plan's deadline: JobTimeoutError tells the state
        on_update: plans.OnUpdate | None = None,
    ) -> JobInstance:
        return await self._result(plans.wait(job_id, timeout=timeout, policy=self._poll, on_update=on_update))

    # -------------------------------------------------------------------------------- logs and files

    async def log(self, job_id: int, stream: LogStream | str = LogStream.STDOUT) -> bytes:
        return await self._run(calls.log(job_id, LogStream(stream)))

    def follow_logs(
        self,
        job_id: int,
        streams: Sequence[LogStream] = BOTH_STREAMS,
        *,
        timeout: float | None = None,
        on_update: plans.OnUpdate | None = None,
    ) -> AsyncIterator[LogChunk]:
        """``async for chunk in jqm.follow_logs(id)``; ``on_update`` sees the job at every poll."""
        plan = plans.follow_logs(job_id, streams, timeout=timeout, policy=self._poll, on_update=on_update)
        return self._chunks(plan)

    async def deliverables(self, job_id: int) -> list[Deliverable]:
        return await self._run(calls.deliverables(job_id))

    async def deliverable_content(self, deliverable: Deliverable | int) -> bytes:
        return await self._run(calls.deliverable_content(deliverable_id(deliverable)))

    async def download_deliverable(
        self, deliverable: Deliverable | int, destination: str | os.PathLike[str] | BinaryIO
    ) -> int:
        """Streams the file into ``destination`` (a path or a binary file object); returns its size.
        Chunks are written as they arrive, with ordinary (blocking) writes of at most 64 KiB."""
        call = calls.deliverable_content(deliverable_id(deliverable))
        if not isinstance(destination, str | os.PathLike):
            return await self._download(call, destination)
        out = await asyncio.to_thread(Path(destination).open, "wb")
        try:
            return await self._download(call, out)
        finally:
            await asyncio.to_thread(out.close)

    async def _download(self, call: Call[bytes], out: BinaryIO) -> int:
        written = 0

        def sink(chunk: bytes) -> None:
            nonlocal written
            written += out.write(chunk)

        await self._run(call, sink=sink)
        return written

    # -------------------------------------------------------------------------------- instructions

    async def cancel(self, job_id: int) -> None:
        await self._run(calls.cancel(job_id))

    async def delete(self, job_id: int) -> None:
        await self._run(calls.delete(job_id))

    async def kill(self, job_id: int) -> None:
        await self._run(calls.kill(job_id))

    async def kill_many(self, job_ids: Sequence[int]) -> int:
        return await self._run(calls.kill_many(list(job_ids)))

    async def pause(self, job_id: int) -> None:
        await self._run(calls.pause(job_id))

    async def pause_many(self, job_ids: Sequence[int]) -> int:
        return await self._run(calls.pause_many(list(job_ids)))

    async def resume(self, job_id: int) -> None:
        await self._run(calls.resume(job_id))

    async def resume_many(self, job_ids: Sequence[int]) -> int:
        return await self._run(calls.resume_many(list(job_ids)))

    async def pause_running(self, job_id: int) -> None:
        await self._run(calls.pause_running(job_id))

    async def resume_running(self, job_id: int) -> None:
        await self._run(calls.resume_running(job_id))

    async def restart_crashed(self, job_id: int) -> JobInstance:
        return await self._run(calls.restart_crashed(job_id))

    async def set_position(self, job_id: int, position: int) -> None:
        await self._run(calls.set_position(job_id, position))

    async def set_priority(self, job_id: int, priority: int) -> None:
        await self._run(calls.set_priority(job_id, priority))

    async def set_run_after(self, job_id: int, when: datetime) -> None:
        await self._run(calls.set_run_after(job_id, when))

    # -------------------------------------------------------------------------------- queues and definitions

    async def queues(self) -> list[Queue]:
        return await self._run(calls.queues())

    async def queue_status(self, queue_id: int) -> QueueStatus:
        return await self._run(calls.queue_status(queue_id))

    async def queue_capacity(self, queue_id: int) -> int:
        return await self._run(calls.queue_capacity(queue_id))

    async def pause_queue(self, queue_id: int) -> None:
        await self._run(calls.pause_queue(queue_id))

    async def resume_queue(self, queue_id: int) -> None:
        await self._run(calls.resume_queue(queue_id))

    async def clear_queue(self, queue_id: int) -> None:
        await self._run(calls.clear_queue(queue_id))

    async def set_job_queue(self, job_id: int, queue_id: int) -> None:
        await self._run(calls.set_job_queue(job_id, queue_id))

    async def set_jobs_queue(self, job_ids: Sequence[int], queue_id: int) -> int:
        return await self._run(calls.set_jobs_queue(list(job_ids), queue_id))

    async def job_definitions(self, application: str | None = None) -> list[JobDef]:
        return await self._run(calls.job_definitions(application))

    async def job_definition(self, name: str) -> JobDef:
        return await self._run(calls.job_definition(name))
