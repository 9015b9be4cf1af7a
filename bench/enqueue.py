"""(a) Enqueue throughput through ``POST /ws/simple/ji`` with wrk: the node with authentication on (HTTP
Basic, as clients send it) and off, next to the bare aiohttp baseline, all in the same run."""

from __future__ import annotations

import os
import re
import shutil
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
    """Requests/s, and the node's CPU time per request (which other load on the machine barely changes)."""
    with bare_aiohttp() as (url, _):
        wrk(url + "/ws/simple/ji", seconds=2, connections=connections)  # warm-up
        bare = wrk(url + "/ws/simple/ji", seconds=seconds, connections=connections).rps
    rates, cpu = {}, {}
    for auth in (False, True):
        with jqm_node(workdir / f"auth-{auth}", CONFIG, auth=auth) as node:
            url = node.url + "/ws/simple/ji"
            wrk(url, seconds=2, connections=connections, headers=node.headers)  # warm-up (and the one PBKDF2)
            before = cpu_seconds(node.pid)
            measured = wrk(url, seconds=seconds, connections=connections, headers=node.headers)
            rates[auth], cpu[auth] = measured.rps, (cpu_seconds(node.pid) - before) / measured.requests * 1e6
    return {
        "bare_rps": bare,
        "node_open_rps": rates[False],
        "node_rps": rates[True],
        "ratio": rates[True] / bare,
        "auth_ratio": rates[True] / rates[False],
        "node_open_cpu_us": cpu[False],
        "node_cpu_us": cpu[True],
        "auth_cpu_ratio": cpu[False] / cpu[True],
    }
