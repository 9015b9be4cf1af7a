"""``jqm-node``: reads the command line (over the environment, over the defaults of
:class:`~jqm_node.config.Options`) and hands it to the configuration, which checks it; then runs the node
(:mod:`jqm_node.server`). ``jqm-node hash-password`` prints a password hash.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence

from jqm_node import cli_security
from jqm_node.auth.users import UsersError
from jqm_node.config import ConfigError, Options, load
from jqm_node.ledger import LedgerError
from jqm_node.logs import configure_logging
from jqm_node.node import Node
from jqm_node.server import serve

log = logging.getLogger("jqm_node")

_LEDGER_HELP = "file:PATH, configmap:NAMESPACE/NAME or off (default: file:WORKDIR/id-ledger.json)"
_OPTIONS = (  # option, environment variable, help
    ("--config", "JQM_CONFIG", "YAML node configuration"),
    ("--listen", "JQM_LISTEN", "HOST:PORT of the client listener"),
    ("--ip", "JQM_NODE_IP", "IPv4 that prefixes job IDs (default: detected)"),
    ("--jobdefs", "JQM_JOBDEFS", "job definitions file or directory"),
    ("--workdir", "JQM_WORKDIR", "work directory"),
    ("--name", "JQM_NODE_NAME", "node name (default: the configuration's, else the host name)"),
    ("--shutdown-grace", "JQM_SHUTDOWN_GRACE", "on SIGTERM, seconds jobs may still run (default: the "
     "configuration's shutdownGraceSeconds, else 30)"),
    ("--shutdown-linger", "JQM_SHUTDOWN_LINGER", "on SIGTERM, seconds the API still answers once jobs are done"),
    ("--kill-grace", "JQM_KILL_GRACE", "seconds between SIGTERM and SIGKILL of a killed job"),
    ("--id-limit", "JQM_ID_LIMIT", "IDs this process may hand out"),
    ("--log-level", "JQM_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL; jobs get it as JQM_NODE_LOG_LEVEL"),
    ("--peers", "JQM_PEERS", "comma-separated IPv4 addresses of the other members"),
    ("--peers-dns", "JQM_PEERS_DNS", "DNS name whose A records are all members"),
    ("--peer-port", "JQM_PEER_PORT", "the members' API port"),
    ("--drain-accept-seconds", "JQM_DRAIN_ACCEPT_SECONDS", "after a drain starts, seconds new jobs are still taken"),
    ("--forward-timeout", "JQM_FORWARD_TIMEOUT", "seconds a member may take to answer a forwarded call"),
    ("--forward-connect-timeout", "JQM_FORWARD_CONNECT_TIMEOUT", "seconds a member may take to accept a connection"),
    ("--id-ledger", "JQM_ID_LEDGER", _LEDGER_HELP),
    ("--journal", "JQM_JOURNAL", "on or off"),
    ("--history-max-jobs", "JQM_HISTORY_MAX_JOBS", "handed-over jobs kept, 0 = no limit"),
    ("--history-max-age-seconds", "JQM_HISTORY_MAX_AGE_SECONDS", "how long handed-over jobs are kept, 0 = no limit"),
    ("--handover-log-bytes", "JQM_HANDOVER_LOG_BYTES", "bytes of stdout and of stderr handed over per job"),
    ("--handover-timeout", "JQM_HANDOVER_TIMEOUT", "seconds the handover may take when leaving"),
)  # fmt: skip


def add_options(add_argument: Callable[..., object], options: Sequence[tuple[str, str, str]]) -> None:
    """Each option, defaulting to its environment variable when set, else to the :class:`Options` default."""
    defaults = Options()
    for flag, variable, text in options:
        dest = flag[2:].replace("-", "_")
        default = getattr(defaults, dest)
        shown = f", default {default}" if default not in (None, "") else ""
        add_argument(
            flag, dest=dest, default=os.environ.get(variable, argparse.SUPPRESS), help=f"{text} [env {variable}{shown}]"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jqm-node", description="A standalone (database-less) JQM node.")
    add_options(p.add_argument, _OPTIONS)
    add_options(p.add_argument_group("security and limits").add_argument, cli_security.OPTIONS)
    return p


def parse_options(argv: Sequence[str]) -> Options:
    """What the command line and the environment set; the rest keeps the :class:`Options` defaults."""
    return Options(**vars(parser().parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hash-password"]:
        return cli_security.hash_password_command(arguments[1:])
    options = parse_options(arguments)
    try:
        settings, config = load(options)
        node = Node(settings, config)
        node.workspace.create()
    except (ConfigError, UsersError) as e:
        print(f"jqm-node: invalid configuration: {e}", file=sys.stderr)
        return 2
    except LedgerError as e:
        print(f"jqm-node: invalid configuration: --id-ledger: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"jqm-node: cannot prepare the work directory {options.workdir}: {e}", file=sys.stderr)
        return 2
    configure_logging(node.workspace.engine_log, settings.log_level)
    if os.environ.get("JQM_PEER_CIDRS"):
        log.warning("JQM_PEER_CIDRS is no longer used: a node forwards to the members of its cluster only "
                    "(JQM_PEERS, JQM_PEERS_DNS)")  # fmt: skip
    return asyncio.run(serve(node))
