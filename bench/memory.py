"""(c) Resident memory: idle node next to a bare aiohttp app, and after many finished jobs."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

from bench.jobs import SLOTS, enqueue_many, wait_idle
from bench.servers import bare_aiohttp, jqm_node, rss_bytes

MILLION = 1_000_000


def _settle(url: str) -> None:
    urllib.request.urlopen(url, timeout=5).read()
    time.sleep(0.5)


def idle_rss(workdir: Path) -> dict[str, float]:
    with bare_aiohttp() as (url, pid):
        _settle(url + "/health")
        bare = rss_bytes(pid)
    with jqm_node(workdir, {}) as node:
        _settle(node.url + "/ws/simple/localnode/health")
        node_rss = rss_bytes(node.pid)
    return {"bare_mib": bare / 2**20, "node_mib": node_rss / 2**20, "ratio": node_rss / bare}


def per_job_bytes(workdir: Path, jobs: int) -> dict[str, float]:
    """RSS growth after ``jobs`` finished ``true`` jobs, per job and extrapolated to a million."""
    config = {"queues": [{"name": "q", "maxThreads": SLOTS}], "jobDefinitions": [{"name": "T", "path": "true"}]}
    with jqm_node(workdir, config) as node:
        # Warm up code paths and allocator pools so that the delta is the store's growth.
        asyncio.run(enqueue_many(node, "T", 200))
        asyncio.run(wait_idle(node, limit_seconds=60))
        before = rss_bytes(node.pid)
        asyncio.run(enqueue_many(node, "T", jobs))
        asyncio.run(wait_idle(node, limit_seconds=max(60.0, jobs / 100)))
        after = rss_bytes(node.pid)
    per_job = (after - before) / jobs
    return {"jobs": jobs, "bytes_per_job": per_job, "extrapolated_1m_mib": (before + per_job * MILLION) / 2**20}
