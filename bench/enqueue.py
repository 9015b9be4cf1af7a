"""(a) Enqueue throughput through ``POST /ws/simple/ji`` with wrk, next to the bare aiohttp baseline."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.servers import bare_aiohttp, jqm_node

BODY = "applicationname=Bench&user=bench&module=m&parameterNames=p1&parameterValues=v1"
CONFIG = {
    "queues": [{"name": "parked", "enabled": False}],  # measure the API and store, not process spawning
    "jobDefinitions": [{"name": "Bench", "path": "true", "queue": "parked"}],
}


def wrk(url: str, *, seconds: int, connections: int) -> float:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package 'wrk'); make bench installs it")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f'wrk.body = "{BODY}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
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
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


def node_rate(workdir: Path, *, env: dict[str, str] | None = None, seconds: int = 8, connections: int = 32) -> float:
    """Enqueues per second of one node (after a 2 s warm-up)."""
    with jqm_node(workdir, CONFIG, env=env) as (url, _):
        wrk(url + "/ws/simple/ji", seconds=2, connections=connections)
        return wrk(url + "/ws/simple/ji", seconds=seconds, connections=connections)


def run(*, workdir: Path, seconds: int = 8, connections: int = 32) -> dict[str, float]:
    with bare_aiohttp() as (url, _):
        wrk(url + "/ws/simple/ji", seconds=2, connections=connections)  # warm-up
        bare = wrk(url + "/ws/simple/ji", seconds=seconds, connections=connections)
    node = node_rate(workdir, seconds=seconds, connections=connections)
    return {"bare_rps": bare, "node_rps": node, "ratio": node / bare}
