"""The async client against a real node process: the same calls and plans as the sync client."""

from __future__ import annotations

from pathlib import Path

import pytest

from jqm_client import JobRequest, JobTimeoutError, JqmConnectionError, LogStream, NotFoundError, Query, State
from jqm_client.aio import AsyncJqmClient
from tests.client.conftest import Node, _free_port

pytestmark = pytest.mark.integration


async def test_enqueue_follow_wait_and_download(node: Node, tmp_path: Path) -> None:
    async with AsyncJqmClient(node.url, auth=node.auth) as jqm:
        job = await jqm.enqueue(JobRequest(application_name="Echo", parameters={"p1": "async"}))
        chunks = [chunk async for chunk in jqm.follow_logs(job.id, timeout=30)]
        assert b"".join(c.data for c in chunks if c.stream is LogStream.STDOUT) == b"out\nasync\n"
        assert b"".join(c.data for c in chunks if c.stream is LogStream.STDERR) == b"err\n"
        assert (await jqm.wait(job.id, timeout=30)).state is State.ENDED
        assert await jqm.log(job.id, "stderr") == b"err\n"

        delivered = await jqm.wait((await jqm.enqueue("Deliver")).id, timeout=30)
        [item] = await jqm.deliverables(delivered.id)
        size = await jqm.download_deliverable(item, tmp_path / "result.txt")
        assert (tmp_path / "result.txt").read_bytes() == f"payload of {delivered.id}".encode()
        assert size == len(await jqm.deliverable_content(item.id))

        found = await jqm.query(Query(job_instance_ids=[job.id, delivered.id]))
        assert sorted(j.id for j in found.instances) == sorted([job.id, delivered.id])


async def test_errors_and_timeouts(node: Node) -> None:
    async with AsyncJqmClient(node.url, auth=node.auth) as jqm:
        with pytest.raises(NotFoundError):
            await jqm.get_job(2130706493 * 1_000_000 + 999_998)
        slow = await jqm.enqueue("Slow")
        with pytest.raises(JobTimeoutError):
            await jqm.wait(slow.id, timeout=0.3)
        await jqm.kill(slow.id)
        assert (await jqm.wait(slow.id, timeout=30)).state.is_final


async def test_unreachable_node_is_a_connection_error() -> None:
    async with AsyncJqmClient(f"http://127.0.0.62:{_free_port('127.0.0.62')}", timeout=5) as jqm:
        with pytest.raises(JqmConnectionError):
            await jqm.queues()
