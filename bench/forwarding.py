"""Issue 3 figures: ``GET ji/{id}`` answered locally vs forwarded to the owner, and a 3-node query fan-out."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench.servers import BenchNode, jqm_node

IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
CONFIG = {"jobDefinitions": [{"name": "T", "path": "true"}]}


def common_free_port() -> int:
    """A port free on every node address (peers share one port, as pods do)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((IPS[0], 0))
            port = probe.getsockname()[1]
        try:
            for ip in IPS[1:]:
                with socket.socket() as s:
                    s.bind((ip, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no common free port")


@contextlib.contextmanager
def three_nodes(workdir: Path) -> Iterator[list[BenchNode]]:
    """Three nodes with authentication on: forwarded and fanned-out calls are signed."""
    port = common_free_port()
    env = {"JQM_PEERS": ",".join(IPS), "JQM_PEER_PORT": str(port)}
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(jqm_node(workdir / ip, CONFIG, ip=ip, port=port, env=env)) for ip in IPS]


def _lua_headers(headers: dict[str, str]) -> str:
    return "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in headers.items())


def wrk_latency(url: str, *, seconds: int, connections: int, lua: str = "") -> dict[str, float]:
    """Requests/s and p50/p99 latency (ms) from wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    Path(script.name).unlink()
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")

    def millis(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        if match is None:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps is not None, out
    return {"rps": float(rps.group(1)), "p50_ms": millis("50"), "p99_ms": millis("99")}


def _enqueue(node: BenchNode, count: int) -> list[int]:
    request = urllib.request.Request(f"{node.url}/ws/simple/ji", b"applicationname=T", headers=node.headers)
    return [int(urllib.request.urlopen(request).read()) for _ in range(count)]


def run(*, workdir: Path, seconds: int = 6, connections: int = 8, jobs_per_node: int = 200) -> dict[str, float]:
    with three_nodes(workdir) as nodes:
        job_id = _enqueue(nodes[0], 1)[0]
        for node in nodes:
            _enqueue(node, jobs_per_node)
        urls = [node.url for node in nodes]
        path = f"/ws/client/ji/{job_id}"
        accept = 'wrk.headers["Accept"] = "application/json"\n' + _lua_headers(nodes[0].headers)
        local = wrk_latency(urls[0] + path, seconds=seconds, connections=connections, lua=accept)
        forwarded = wrk_latency(urls[1] + path, seconds=seconds, connections=connections, lua=accept)
        query = json.dumps({"applicationName": "T"})
        post = (
            f'wrk.method = "POST"\nwrk.body = {json.dumps(query)}\nwrk.headers["Content-Type"] = "application/json"\n'
        )
        fanout = wrk_latency(urls[2] + "/ws/client/ji/query", seconds=seconds, connections=2, lua=accept + post)
    return {
        "local_rps": local["rps"], "local_p50_ms": local["p50_ms"], "local_p99_ms": local["p99_ms"],
        "forwarded_rps": forwarded["rps"], "forwarded_p50_ms": forwarded["p50_ms"],
        "forwarded_p99_ms": forwarded["p99_ms"], "p50_ratio": forwarded["p50_ms"] / local["p50_ms"],
        "fanout_rps": fanout["rps"], "fanout_p50_ms": fanout["p50_ms"], "fanout_p99_ms": fanout["p99_ms"],
        "fanout_jobs": 3 * jobs_per_node + 1,
    }  # fmt: skip
