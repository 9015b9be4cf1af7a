"""(b) Trivial-job throughput end to end and enqueue-to-start latency, next to the raw spawn rate."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import time
from pathlib import Path

import aiohttp

from bench.servers import BenchNode, jqm_node
from jqm_node.config import NodeConfig, Settings
from jqm_node.model import JobDefinition, JobRequest, Queue
from jqm_node.node import Node

SLOTS = 4


def raw_spawn_rate(count: int = 1000) -> float:
    """``/bin/sh -c true`` spawned and waited for from Python, one after the other."""
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run(["/bin/sh", "-c", "true"], check=True)
    return count / (time.perf_counter() - start)


async def enqueue_many(node: BenchNode, application: str, count: int, *, concurrency: int = 16) -> None:
    """Posts ``count`` enqueues over ``concurrency`` keep-alive connections (bounded in count)."""
    remaining = iter(range(count))
    url = node.url
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=node.headers) as session:

        async def worker() -> None:
            for _ in remaining:
                async with session.post(f"{url}/ws/simple/ji", data={"applicationname": application}) as r:
                    if r.status != 200:
                        raise RuntimeError(f"enqueue failed: {r.status} {await r.text()}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def wait_idle(node: BenchNode, *, limit_seconds: float) -> None:
    deadline = time.monotonic() + limit_seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{node.management_url}/node/status") as r:
                status = json.loads(await r.text())
            if status["running"] == 0 and status["queued"] == 0:
                return
            await asyncio.sleep(0.02)
    raise TimeoutError("jobs did not finish in time")


def job_throughput(workdir: Path, count: int = 3000, env: dict[str, str] | None = None) -> float:
    """Jobs per second from the first enqueue until the last of ``count`` ``true`` jobs ended."""
    config = {"queues": [{"name": "q", "maxThreads": SLOTS}], "jobDefinitions": [{"name": "T", "path": "true"}]}
    with jqm_node(workdir, config, env=env) as node:

        async def measure() -> float:
            start = time.perf_counter()
            await enqueue_many(node, "T", count)
            await wait_idle(node, limit_seconds=count / 50)
            return count / (time.perf_counter() - start)

        return asyncio.run(measure())


def start_latency(workdir: Path, count: int = 500) -> dict[str, float]:
    """Enqueue-to-process-start delay with a free slot, measured inside a real engine and runner."""

    async def measure() -> list[float]:
        settings = Settings(
            ip="127.0.0.1", name="bench", host="127.0.0.1", port=1, workdir=workdir,
            id_limit=999_999, shutdown_grace=5, kill_grace=1,
        )  # fmt: skip
        config = NodeConfig(
            queues=[Queue(id=1, name="q", max_threads=SLOTS, default=True)],
            job_definitions=[JobDefinition(id=0, name="T", path="true")],
        )
        node = Node(settings, config)
        node.workspace.create()
        await node.start()  # opens the journal, as a served node does
        delays = []
        for _ in range(count):
            job = node.engine.enqueue(JobRequest(application_name="T"))
            assert job.began_date is not None, "a free slot starts the job during enqueue"
            delays.append(job.began_date - job.enqueue_date)
            await node.engine.wait_idle()
        await node.close()
        return delays

    delays = sorted(asyncio.run(measure()))
    return {
        "p50_ms": statistics.median(delays) * 1000,
        "p99_ms": delays[int(len(delays) * 0.99) - 1] * 1000,
    }
