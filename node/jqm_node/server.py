"""Runs an assembled node: its two listeners, until SIGTERM or SIGINT, then its departure (lifecycle.py)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from jqm_node.app import build_app, build_management_app
from jqm_node.lifecycle import leave
from jqm_node.node import Node
from jqm_node.security_settings import SecuritySettings
from jqm_node.tls import server_context

log = logging.getLogger("jqm_node")


def _runner(app: web.Application, security: SecuritySettings) -> web.AppRunner:
    """``keepalive_timeout`` bounds the time to send a request's headers (and idle keep-alive time);
    ``lingering_time=0``: a connection whose body was not read (refused, timed out) is closed at once."""
    return web.AppRunner(
        app, access_log=None, handle_signals=False, keepalive_timeout=security.header_timeout, lingering_time=0
    )


async def serve(node: Node) -> int:
    """Serves until SIGTERM or SIGINT, then leaves the cluster without dropping anything (lifecycle.py).
    Returns the exit code."""
    s, security = node.settings, node.settings.security
    try:
        await node.start()
    except OSError as e:
        log.error("cannot rewrite the journal in %s: %s", s.workdir, e.strerror or e)
        await node.close()
        return 1
    runner, management = _runner(build_app(node), security), _runner(build_management_app(node), security)
    await runner.setup()
    await management.setup()
    try:
        tls = server_context(security.tls) if security.tls else None
        try:
            await web.TCPSite(runner, s.host, s.port, backlog=1024, reuse_address=True, ssl_context=tls).start()
            # The management listener carries the management token: it is TLS too when the client listener is.
            await web.TCPSite(
                management, security.management_host, security.management_port, reuse_address=True, ssl_context=tls
            ).start()
        except OSError as e:
            log.error("cannot listen on %s:%s or %s:%s (management): %s",
                      s.host, s.port, security.management_host, security.management_port, e.strerror or e)  # fmt: skip
            return 1
        stop, hurry = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: (hurry if stop.is_set() else stop).set())
        if not security.auth_enabled:
            log.warning("AUTHENTICATION IS OFF (--auth off): anyone who reaches %s:%s may run, read and kill jobs",
                        s.host, s.port)  # fmt: skip
        log.info("JQM node %s listening on %s:%s (%s), management on %s:%s, job IDs from %s (ID ledger: %s, "
                 "journal: %s), %d job definition(s)",
                 s.name, s.host, s.port, "https" if tls else "http", security.management_host,
                 security.management_port, s.ip, s.id_ledger or "off", "on" if s.journal else "off",
                 len(node.engine.definitions))  # fmt: skip
        await stop.wait()
        await leave(node, hurry=hurry)
    finally:
        await runner.cleanup()
        await management.cleanup()
        await node.close()
    log.info("stopped")
    return 0
