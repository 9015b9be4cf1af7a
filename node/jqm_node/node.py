"""One node assembled: settings, workspace, runner and engine, shared by the HTTP handlers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

from aiohttp import web

from jqm_node.cluster.forwarding import Forwarder
from jqm_node.cluster.peers import PeerDirectory, PeerPolicy
from jqm_node.config import NodeConfig
from jqm_node.engine import Engine
from jqm_node.runner import JobRunner
from jqm_node.workspace import Workspace


@dataclass(slots=True)
class Settings:
    ip: str
    name: str
    host: str
    port: int
    workdir: Path
    id_limit: int
    shutdown_grace: float
    kill_grace: float
    shutdown_linger: float = 0.0
    peer_networks: tuple[IPv4Network, ...] = ()
    peers: tuple[str, ...] = ()
    peers_dns: str | None = None
    peer_port: int = 1789
    forward_timeout: float = 10.0
    drain_accept_seconds: float = 0.0

    @property
    def api_local_url(self) -> str:
        """Where a job reaches this node's API: localhost unless the node listens on one address only."""
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


class Node:
    def __init__(self, settings: Settings, config: NodeConfig) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.workdir)
        runner = JobRunner(
            workspace=self.workspace,
            node_name=settings.name,
            api_local_url=settings.api_local_url,
            kill_grace=settings.kill_grace,
            base_env=_job_base_env(),
        )
        self.engine = Engine(
            ip=settings.ip,
            node_name=settings.name,
            queues=config.queues,
            definitions=config.job_definitions,
            runner=runner,
            id_limit=settings.id_limit,
        )
        policy = PeerPolicy(self_ip=settings.ip, networks=settings.peer_networks)
        self.forwarder = Forwarder(policy=policy, port=settings.peer_port, timeout=settings.forward_timeout)
        self.peers = PeerDirectory(policy=policy, static=settings.peers, dns_name=settings.peers_dns)


NODE_KEY = web.AppKey("node", Node)


def _job_base_env() -> dict[str, str]:
    """The environment every job inherits: the node's own, minus the node's JQM_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("JQM_")}
