"""(a) Enqueue throughput through ``POST /ws/simple/ji`` with wrk: the node with authentication on (HTTP
Basic, as clients send it) and off, next to the bare aiohttp baseline, all in the same run."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.servers import bare_aiohttp, jqm_node

BODY = "applicationname=Bench&user=bench&module=m&parameterNames=p1&parameterValues=v1"
CONFIG = {
    "queues": [{"name": "parked", "enabled": False}],  # measure the API and store, not process spawning
    "jobDefinitions": [{"name": "Bench", "path": "true", "queue": "parked"}],
}


@dataclass(frozen=True, slots=True)
class WrkRun:
    rps: float
    requests: int


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None) -> WrkRun:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package 'wrk'); make bench installs it")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f'wrk.body = "{BODY}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
        for name, value in (headers or {}).items():
            script.write(f'wrk.headers["{name}"] = "{value}"\n')
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    Path(script.name).unlink()
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    requests = re.search(r"(\d+) requests in", out)
    if rps is None or requests is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return WrkRun(rps=float(rps.group(1)), requests=int(requests.group(1)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(*, workdir: Path, seconds: int = 8, connections: int = 32) -> dict[str, float]:
    """Requests/s, and the node's CPU time per request (which other load on the machine barely changes).

    The open node and the authenticating one run side by side and are measured in the order open,
    auth, auth, open (each figure is the mean of its two measures), so that a drift of the machine's
    load during the run weighs on both alike.
    """
    with bare_aiohttp() as (url, _):
        wrk(url + "/ws/simple/ji", seconds=2, connections=connections)  # warm-up
        bare = wrk(url + "/ws/simple/ji", seconds=seconds, connections=connections).rps
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with (
        jqm_node(workdir / "open", CONFIG, auth=False) as open_node,
        jqm_node(workdir / "auth", CONFIG, auth=True) as auth_node,
    ):
        nodes = {False: open_node, True: auth_node}
        for node in nodes.values():  # warm-up (and the authenticating node's one PBKDF2)
            wrk(node.url + "/ws/simple/ji", seconds=2, connections=connections, headers=node.headers)
        for auth in (False, True, True, False):
            node = nodes[auth]
            before = cpu_seconds(node.pid)
            measured = wrk(node.url + "/ws/simple/ji", seconds=seconds, connections=connections, headers=node.headers)
            rates[auth].append(measured.rps)
            cpu[auth].append((cpu_seconds(node.pid) - before) / measured.requests * 1e6)
    rate = {auth: statistics.mean(values) for auth, values in rates.items()}
    cost = {auth: statistics.mean(values) for auth, values in cpu.items()}
    return {
        "bare_rps": bare,
        "node_open_rps": rate[False],
        "node_rps": rate[True],
        "ratio": rate[True] / bare,
        "auth_ratio": rate[True] / rate[False],
        "node_open_cpu_us": cost[False],
        "node_cpu_us": cost[True],
        "auth_cpu_ratio": cost[False] / cost[True],
    }
