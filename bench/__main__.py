"""Runs every node benchmark, several times each, and prints medians as a Markdown table.

Environment: ``BENCH_RUNS`` (default 3), ``BENCH_JOBS`` finished jobs for the memory and handover figures
(default 100000), ``BENCH_ONLY`` (comma-separated sections: node, forwarding, durability, cluster; default
node, forwarding and durability; cluster needs ``make up``).
Raw results go to ``bench/results/latest.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cluster, durability, enqueue, forwarding, jobs, memory


def _median_of(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    samples = [measure() for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    job_count = int(os.environ.get("BENCH_JOBS", "100000"))
    sections = set(os.environ.get("BENCH_ONLY", "node,forwarding,durability").split(","))
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    results: dict[str, Any] = {"machine": machine, "runs": runs}
    with tempfile.TemporaryDirectory(prefix="jqm-bench-") as tmp:
        work = Path(tmp)
        counter = iter(range(1000))

        def fresh() -> Path:
            return work / f"run{next(counter)}"

        if "node" in sections:
            results["enqueue"] = _median_of(runs, lambda: enqueue.run(workdir=fresh()))
            results["spawn"] = _median_of(runs, lambda: {"raw_per_s": jobs.raw_spawn_rate()})
            results["jobs"] = _median_of(runs, lambda: {"node_per_s": jobs.job_throughput(fresh())})
            results["jobs"]["ratio_to_raw"] = results["jobs"]["node_per_s"] / results["spawn"]["raw_per_s"]
            results["latency"] = _median_of(runs, lambda: jobs.start_latency(fresh()))
            results["idle"] = _median_of(runs, lambda: memory.idle_rss(fresh()))
            results["history"] = memory.per_job_bytes(fresh(), job_count)
        if "forwarding" in sections:
            results["forwarding"] = _median_of(runs, lambda: forwarding.run(workdir=fresh()))
        if "durability" in sections:
            results["durability"] = _median_of(runs, lambda: durability.cost(fresh()))
            results["handover"] = _median_of(runs, lambda: durability.handover_time(fresh(), job_count))
        if "cluster" in sections:
            results["cluster"] = _median_of(runs, cluster.run)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {machine}; median of {runs} runs\n")
    print("| measure | jqm-node | baseline | ratio | target |\n|---|---|---|---|---|")
    for row in _rows(results):
        print("| " + " | ".join(row) + " |")


def _rows(r: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if "enqueue" in r:
        e, j, lat, idle, h = r["enqueue"], r["jobs"], r["latency"], r["idle"], r["history"]
        raw = r["spawn"]["raw_per_s"]
        rows += [
            ("enqueue, req/s (auth on, Basic)", f"{e['node_rps']:.0f}", f"{e['bare_rps']:.0f} (bare aiohttp)",
             f"{e['ratio']:.0%}", ">= 8000 and >= 40 %"),
            ("enqueue, req/s: auth on vs off", f"{e['node_rps']:.0f}", f"{e['node_open_rps']:.0f} (auth off)",
             f"{e['auth_ratio']:.0%}", ">= 90 %"),
            ("enqueue, node CPU per request, us: auth on vs off", f"{e['node_cpu_us']:.1f}",
             f"{e['node_open_cpu_us']:.1f} (auth off)", f"{e['auth_cpu_ratio']:.0%}", ""),
            ("trivial jobs/s", f"{j['node_per_s']:.0f}", f"{raw:.0f} (raw sh -c true)", f"{j['ratio_to_raw']:.0%}",
             ">= 50 %"),
            ("enqueue->start p50 / p99, ms", f"{lat['p50_ms']:.2f} / {lat['p99_ms']:.2f}", "", "", "p50 <= 5"),
            ("idle RSS, MiB", f"{idle['node_mib']:.1f}", f"{idle['bare_mib']:.1f} (bare aiohttp)",
             f"{idle['ratio']:.2f}x", "<= 1.25x"),
            (f"bytes per finished job ({h['jobs']} jobs)", f"{h['bytes_per_job']:.0f}", "", "", "<= 600"),
            ("RSS extrapolated to 1,000,000 jobs, MiB", f"{h['extrapolated_1m_mib']:.0f}", "", "", ""),
        ]  # fmt: skip
    if "forwarding" in r:
        f = r["forwarding"]
        rows += [
            ("GET ji/{id} forwarded: req/s, p50 / p99 ms",
             f"{f['forwarded_rps']:.0f}, {f['forwarded_p50_ms']:.2f} / {f['forwarded_p99_ms']:.2f}",
             f"{f['local_rps']:.0f}, {f['local_p50_ms']:.2f} / {f['local_p99_ms']:.2f} (local)",
             f"p50 {f['p50_ratio']:.2f}x", "p50 <= 2x local"),
            (f"3-node query fan-out ({f['fanout_jobs']:.0f} jobs, page of 50): req/s, p50 / p99 ms",
             f"{f['fanout_rps']:.0f}, {f['fanout_p50_ms']:.1f} / {f['fanout_p99_ms']:.1f}", "", "", ""),
        ]  # fmt: skip
    if "durability" in r:
        d, h = r["durability"], r["handover"]
        rows += [
            ("enqueue, req/s, ledger (file) + journal on vs off", f"{d['enqueue_durable_rps']:.0f}",
             f"{d['enqueue_bare_rps']:.0f} (off)", f"{d['enqueue_ratio']:.0%}", ">= 90 %"),
            ("node CPU per enqueue, us, on vs off", f"{d['enqueue_durable_cpu_us']:.0f}",
             f"{d['enqueue_bare_cpu_us']:.0f} (off)", f"{d['enqueue_bare_cpu_us'] / d['enqueue_durable_cpu_us']:.0%}",
             ""),
            ("trivial jobs/s, ledger (file) + journal on vs off", f"{d['jobs_durable_per_s']:.0f}",
             f"{d['jobs_bare_per_s']:.0f} (off)", f"{d['jobs_ratio']:.0%}", ">= 90 %"),
            (f"handover of {h['handover_jobs']:.0f} finished jobs (SIGTERM to custodian holding them), s",
             f"{h['handover_s']:.1f}", "", "", ""),
            (f"journal recovery of {h['handover_jobs']:.0f} jobs at start (to healthy), s", f"{h['recovery_s']:.1f}",
             "", "", ""),
        ]  # fmt: skip
    if "cluster" in r:
        c = r["cluster"]
        rows += [
            ("kubectl apply of a 4-node JqmCluster to Available, s", f"{c['apply_to_available_s']:.1f}", "", "",
             "<= 15"),
            ("spec change to observedGeneration, s", f"{c['spec_change_observed_s']:.2f}", "", "", ""),
            ("operator RSS, MiB", f"{c['operator_rss_mib']:.0f}", "", "", ""),
            (f"local cluster at rest ({c['cluster_processes']:.0f} processes), RSS MiB",
             f"{c['cluster_rss_mib']:.0f}", "", "", ""),
        ]  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
