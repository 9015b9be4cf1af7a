"""``jqm-node``: reads options (command line over environment over config file) and runs a node."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from jqm_node import cli_security
from jqm_node.app import build_app, build_management_app
from jqm_node.auth.users import UsersError
from jqm_node.commands import unsafe_ending
from jqm_node.config import ConfigError, NodeConfig, load_job_definition_files, load_node_config
from jqm_node.ids import BLOCK_SIZE
from jqm_node.ledger import LedgerError, parse_ledger_spec
from jqm_node.lifecycle import leave
from jqm_node.logs import configure_logging
from jqm_node.netinfo import detect_ipv4, validate_ipv4
from jqm_node.node import Node, Settings
from jqm_node.security_settings import SecuritySettings
from jqm_node.tls import server_context

log = logging.getLogger("jqm_node")


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="jqm-node", description="A standalone (database-less) JQM node.")
    p.add_argument("--config", default=env("JQM_CONFIG"), help="YAML node configuration [env JQM_CONFIG]")
    p.add_argument("--listen", default=env("JQM_LISTEN", "0.0.0.0:1789"), help="HOST:PORT [env JQM_LISTEN]")
    p.add_argument("--ip", default=env("JQM_NODE_IP"), help="IPv4 that prefixes job IDs [env JQM_NODE_IP]")
    p.add_argument("--jobdefs", default=env("JQM_JOBDEFS"), help="job definitions file or dir [env JQM_JOBDEFS]")
    p.add_argument("--workdir", default=env("JQM_WORKDIR", "jqm-work"), help="work dir [env JQM_WORKDIR]")
    p.add_argument("--name", default=env("JQM_NODE_NAME"), help="node name [env JQM_NODE_NAME]")
    p.add_argument("--shutdown-grace", default=env("JQM_SHUTDOWN_GRACE"), help="seconds [env JQM_SHUTDOWN_GRACE]")
    p.add_argument(
        "--shutdown-linger",
        default=env("JQM_SHUTDOWN_LINGER", "0"),
        help="on SIGTERM, seconds the API still answers once jobs are done [env JQM_SHUTDOWN_LINGER]",
    )
    p.add_argument("--kill-grace", default=env("JQM_KILL_GRACE", "10"), help="seconds [env JQM_KILL_GRACE]")
    p.add_argument("--id-limit", default=env("JQM_ID_LIMIT", str(BLOCK_SIZE)), help="[env JQM_ID_LIMIT]")
    p.add_argument("--log-level", default=env("JQM_LOG_LEVEL", "INFO"), help="[env JQM_LOG_LEVEL]")
    p.add_argument("--peers", default=env("JQM_PEERS", ""), help="peer IPv4 addresses [env JQM_PEERS]")
    p.add_argument("--peers-dns", default=env("JQM_PEERS_DNS"), help="DNS name of all nodes [env JQM_PEERS_DNS]")
    p.add_argument("--peer-port", default=env("JQM_PEER_PORT", "1789"), help="peers' API port [env JQM_PEER_PORT]")
    p.add_argument(
        "--drain-accept-seconds",
        default=env("JQM_DRAIN_ACCEPT_SECONDS", "0"),
        help="after a drain starts, seconds new jobs are still taken [env JQM_DRAIN_ACCEPT_SECONDS]",
    )
    p.add_argument("--forward-timeout", default=env("JQM_FORWARD_TIMEOUT", "10"), help="[env JQM_FORWARD_TIMEOUT]")
    p.add_argument(
        "--forward-connect-timeout",
        default=env("JQM_FORWARD_CONNECT_TIMEOUT", "1"),
        help="seconds a member may take to accept a connection [env JQM_FORWARD_CONNECT_TIMEOUT]",
    )
    p.add_argument(
        "--id-ledger",
        default=env("JQM_ID_LEDGER", ""),
        help="file:PATH, configmap:NAMESPACE/NAME or off (default file:WORKDIR/id-ledger.json) [env JQM_ID_LEDGER]",
    )
    p.add_argument("--journal", default=env("JQM_JOURNAL", "on"), help="on or off [env JQM_JOURNAL]")
    p.add_argument(
        "--history-max-jobs",
        default=env("JQM_HISTORY_MAX_JOBS", "100000"),
        help="handed-over jobs kept, 0 = no limit [env JQM_HISTORY_MAX_JOBS]",
    )
    p.add_argument(
        "--history-max-age-seconds",
        default=env("JQM_HISTORY_MAX_AGE_SECONDS", "604800"),
        help="how long handed-over jobs are kept after their end, 0 = no limit [env JQM_HISTORY_MAX_AGE_SECONDS]",
    )
    p.add_argument(
        "--handover-log-bytes",
        default=env("JQM_HANDOVER_LOG_BYTES", "16384"),
        help="bytes of stdout and of stderr handed over per job [env JQM_HANDOVER_LOG_BYTES]",
    )
    p.add_argument(
        "--handover-timeout",
        default=env("JQM_HANDOVER_TIMEOUT", "60"),
        help="seconds the handover may take when leaving [env JQM_HANDOVER_TIMEOUT]",
    )
    cli_security.add_arguments(p)
    return p


def _number(option: str, raw: str, *, integer: bool = False) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError("command line", option, f"expected a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError("command line", option, f"must not be negative, got {raw}")
    return value


def load(argv: Sequence[str] | None = None) -> tuple[Settings, NodeConfig]:
    """Builds the settings and configuration; raises ConfigError naming what is wrong."""
    args = _parser().parse_args(argv)
    config = load_node_config(Path(args.config) if args.config else None)
    if args.jobdefs:
        config.job_definitions += load_job_definition_files(Path(args.jobdefs))
    names = [jd.name for jd in config.job_definitions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError("job definitions", "name", f"defined more than once: {', '.join(duplicates)}")
    queue_names = {q.name for q in config.queues}
    for jd in config.job_definitions:
        if jd.queue_name and jd.queue_name not in queue_names:
            raise ConfigError("job definitions", f"{jd.name}.queue", f"no queue named {jd.queue_name}")
        unsafe = unsafe_ending(jd)
        if unsafe:
            raise ConfigError("job definitions", f"{jd.name}.path", unsafe)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("command line", "--listen", f"expected HOST:PORT, got {args.listen!r}")
    try:
        ip = validate_ipv4(args.ip) if args.ip else detect_ipv4()
    except ValueError as e:
        raise ConfigError("command line", "--ip", str(e)) from None
    id_limit = int(_number("--id-limit", args.id_limit, integer=True))
    if not 0 < id_limit <= BLOCK_SIZE:
        raise ConfigError("command line", "--id-limit", f"must be between 1 and {BLOCK_SIZE}")
    try:
        peers = tuple(validate_ipv4(p.strip()) for p in args.peers.split(",") if p.strip())
    except ValueError as e:
        raise ConfigError("command line", "--peers", str(e)) from None
    grace = args.shutdown_grace if args.shutdown_grace is not None else config.shutdown_grace_seconds
    workdir = Path(args.workdir)
    try:
        id_ledger = parse_ledger_spec(args.id_ledger, workdir=workdir)
    except ValueError as e:
        raise ConfigError("command line", "--id-ledger", str(e)) from None
    if args.journal not in ("on", "off"):
        raise ConfigError("command line", "--journal", f"expected on or off, got {args.journal!r}")
    settings = Settings(
        ip=ip,
        name=args.name or config.name or socket.gethostname(),
        host=host.strip("[]"),
        port=int(port),
        workdir=workdir,
        id_limit=id_limit,
        shutdown_grace=_number("--shutdown-grace", str(grace)) if grace is not None else 30.0,
        kill_grace=_number("--kill-grace", args.kill_grace),
        shutdown_linger=_number("--shutdown-linger", args.shutdown_linger),
        peers=peers,
        peers_dns=args.peers_dns or None,
        peer_port=int(_number("--peer-port", args.peer_port, integer=True)),
        forward_timeout=_number("--forward-timeout", args.forward_timeout),
        forward_connect_timeout=_number("--forward-connect-timeout", args.forward_connect_timeout),
        drain_accept_seconds=_number("--drain-accept-seconds", args.drain_accept_seconds),
        security=cli_security.security_settings(args, has_peers=bool(peers or args.peers_dns)),
        id_ledger=id_ledger,
        journal=args.journal == "on",
        history_max_jobs=int(_number("--history-max-jobs", args.history_max_jobs, integer=True)),
        history_max_age=_number("--history-max-age-seconds", args.history_max_age_seconds),
        handover_log_bytes=int(_number("--handover-log-bytes", args.handover_log_bytes, integer=True)),
        handover_timeout=_number("--handover-timeout", args.handover_timeout),
    )
    return settings, config


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


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hash-password"]:
        return cli_security.hash_password_command(arguments[1:])
    try:
        settings, config = load(arguments)
        node = Node(settings, config)
        node.workspace.create()
    except (ConfigError, UsersError) as e:
        print(f"jqm-node: invalid configuration: {e}", file=sys.stderr)
        return 2
    except LedgerError as e:
        print(f"jqm-node: invalid configuration: --id-ledger: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"jqm-node: cannot prepare the work directory {settings.workdir}: {e}", file=sys.stderr)
        return 2
    configure_logging(node.workspace.engine_log, settings_level())
    if os.environ.get("JQM_PEER_CIDRS"):
        log.warning("JQM_PEER_CIDRS is no longer used: a node forwards to the members of its cluster only "
                    "(JQM_PEERS, JQM_PEERS_DNS)")  # fmt: skip
    return asyncio.run(serve(node))


def settings_level() -> str:
    level = os.environ.get("JQM_LOG_LEVEL", "INFO").upper()
    return level if level in logging.getLevelNamesMapping() else "INFO"
