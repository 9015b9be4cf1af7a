"""Serves the operator's own metrics, ``GET /metrics``, on a port of its own (``JQM_OPERATOR_METRICS_LISTEN``,
9180 by default), beside kopf's liveness endpoint. Every replica serves it; a replica that waits for
its peering turn reports its counters and no cluster gauge."""

from __future__ import annotations

from aiohttp import web

from jqm_operator.metrics import OperatorMetrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_app(metrics: OperatorMetrics) -> web.Application:
    async def exposition(request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition().encode(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", exposition)
    return app


async def serve_metrics(metrics: OperatorMetrics, *, host: str, port: int) -> web.AppRunner:
    """Starts the listener on the running event loop; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(metrics_app(metrics), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
