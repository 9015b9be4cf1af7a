"""The kubelet's log endpoint (`kubectl logs` through the API server): HTTPS on the node address,
clients must present a certificate of the cluster CA (the API server does)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

FOLLOW_POLL = 0.5


def run_logs(container_dir: Path) -> list[Path]:
    """The output files of a container's runs, oldest first."""
    runs = [p for p in container_dir.iterdir() if p.name.isdigit()] if container_dir.is_dir() else []
    return [p / "output.log" for p in sorted(runs, key=lambda p: int(p.name)) if (p / "output.log").exists()]


def select(data: bytes, tail_lines: int | None, limit_bytes: int | None) -> bytes:
    if tail_lines is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[-tail_lines:]) if tail_lines > 0 else b""
    if limit_bytes is not None:
        data = data[:limit_bytes]
    return data


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def app(find_container_dir: Callable[[str, str, str], Path | None]) -> web.Application:
    """find_container_dir(namespace, pod, container) -> that container's directory, if the pod runs here."""

    async def container_logs(request: web.Request) -> web.StreamResponse:
        ns, pod, container = (request.match_info[k] for k in ("ns", "pod", "container"))
        directory = find_container_dir(ns, pod, container)
        logs = run_logs(directory) if directory else []
        previous = request.query.get("previous") == "true"
        if len(logs) < (2 if previous else 1):
            which = "previous terminated" if previous else "a"
            raise web.HTTPNotFound(text=f"container {container} of pod {ns}/{pod} has no {which} run here")
        path = logs[-2] if previous else logs[-1]
        data = path.read_bytes()
        body = select(data, _int(request, "tailLines"), _int(request, "limitBytes"))
        if request.query.get("follow") != "true" or previous:
            return web.Response(body=body, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(body)
        offset = len(data)
        with contextlib.suppress(ConnectionError):
            while path.exists() and run_logs(path.parent.parent)[-1:] == [path]:
                await asyncio.sleep(FOLLOW_POLL)
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
                if chunk:
                    offset += len(chunk)
                    await resp.write(chunk)
        return resp

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    application = web.Application()
    application.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    application.router.add_get("/healthz", healthz)
    return application


def server_ssl(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "kubelet-serving.crt"), str(pki / "kubelet-serving.key"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def serve(application: web.Application, host: str, port: int, pki: Path) -> web.AppRunner:
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=server_ssl(pki)).start()
    return runner
