"""Issue 9 figures: what the ID ledger and the journal cost, and how long handing 100,000 finished jobs over takes.

``durable`` is the default node (``file:`` ledger in the work dir, journal on); ``bare`` is the same node
with ``JQM_ID_LEDGER=off`` and ``JQM_JOURNAL=off``. Both are measured in the same run, one after the other.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import enqueue, jobs
from bench.forwarding import common_free_port
from bench.servers import BenchNode, jqm_node
from jqm_node.ids import id_base

DURABLE: dict[str, str] = {}
BARE = {"JQM_ID_LEDGER": "off", "JQM_JOURNAL": "off"}
HANDOVER_IPS = ("127.0.0.2", "127.0.0.3")


_runs = itertools.count()


def _enqueue(workdir: Path, env: dict[str, str], seconds: int = 8) -> tuple[float, float]:
    """Enqueues/s with wrk, and the node's CPU microseconds per enqueue (steadier on a shared machine)."""
    with jqm_node(workdir, enqueue.CONFIG, env=env) as node:
        url = node.url + "/ws/simple/ji"
        enqueue.wrk(url, seconds=2, connections=32, headers=node.headers)
        cpu = enqueue.cpu_seconds(node.pid)
        measured = enqueue.wrk(url, seconds=seconds, connections=32, headers=node.headers)
        cpu = enqueue.cpu_seconds(node.pid) - cpu
    return measured.rps, cpu / measured.requests * 1e6


def cost(workdir: Path) -> dict[str, float]:
    """Enqueues/s and trivial jobs/s with the ledger and journal on, and off; the order alternates between runs."""
    modes = [("durable", DURABLE), ("bare", BARE)]
    if next(_runs) % 2:
        modes.reverse()
    result: dict[str, float] = {}
    for name, env in modes:
        result[f"enqueue_{name}_rps"], result[f"enqueue_{name}_cpu_us"] = _enqueue(workdir / f"eq-{name}", env)
    for name, env in modes:
        result[f"jobs_{name}_per_s"] = jobs.job_throughput(workdir / f"jobs-{name}", env=env)
    result["enqueue_ratio"] = result["enqueue_durable_rps"] / result["enqueue_bare_rps"]
    result["jobs_ratio"] = result["jobs_durable_per_s"] / result["jobs_bare_per_s"]
    return result


def _finished_history(work: Path, ip: str, count: int) -> None:
    """A journal of ``count`` finished jobs (each with a one-line stdout log) and a ledger that matches."""
    logs = work / "logs"
    logs.mkdir(parents=True)
    base, now = id_base(ip), time.time()
    with (work / "journal.jsonl").open("w") as journal:
        journal.write(json.dumps(["N", 1]) + "\n" + json.dumps(["B", 0, count]) + "\n")
        for n in range(count):
            job_id = base + n
            journal.write(json.dumps(["J", job_id, "T", "q", "ENDED", n + 1, now - 60, 0, None, None, "bench",
                                      None, None, None, None, None, None, None, None, now - 59, now - 58, None,
                                      None, None], separators=(",", ":")) + "\n")  # fmt: skip
            (logs / f"{job_id}.stdout.log").write_text(f"job {job_id} done\n")
    (work / "id-ledger.json").write_text(json.dumps({ip: {"next": count, "custody": []}}))


def _status(node: BenchNode) -> dict[str, Any]:
    with urllib.request.urlopen(f"{node.management_url}/node/status", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def handover_time(workdir: Path, count: int = 100_000) -> dict[str, float]:
    """Seconds from SIGTERM to a node holding ``count`` finished jobs until a member reports it took them."""
    port = common_free_port()
    leaving_ip, custodian_ip = HANDOVER_IPS
    ledger = f"file:{workdir / 'ledger.json'}"
    _finished_history(workdir / leaving_ip / "work", leaving_ip, count)
    (workdir / "ledger.json").write_text((workdir / leaving_ip / "work" / "id-ledger.json").read_text())
    config = {"queues": [{"name": "q", "maxThreads": 4}], "jobDefinitions": [{"name": "T", "path": "true"}]}
    env = {"JQM_PEERS": ",".join(HANDOVER_IPS), "JQM_PEER_PORT": str(port), "JQM_ID_LEDGER": ledger,
           "JQM_HANDOVER_TIMEOUT": "600", "JQM_HISTORY_MAX_JOBS": "0"}  # fmt: skip
    with jqm_node(workdir / custodian_ip, config, ip=custodian_ip, port=port, env=env) as custodian:
        started = time.perf_counter()
        with jqm_node(workdir / leaving_ip, config, ip=leaving_ip, port=port, env=env) as leaving:
            recovered = time.perf_counter() - started
            assert _status(leaving)["journal"]["recovered"]["jobs"] == count
            signalled = time.perf_counter()
            os.kill(leaving.pid, signal.SIGTERM)
            deadline = signalled + 600
            while not _status(custodian)["handovers"]:
                if time.perf_counter() > deadline:
                    raise TimeoutError("no handover in 600 s")
                time.sleep(0.05)
            took = time.perf_counter() - signalled
        held = _status(custodian)["history"]["held"]
    if held != count:
        raise RuntimeError(f"the custodian holds {held} jobs, not {count}")
    return {"handover_jobs": count, "handover_s": took, "recovery_s": recovered}
