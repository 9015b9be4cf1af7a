"""One node assembled: settings, workspace, runner and engine, shared by the HTTP handlers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from aiohttp import web

from jqm_node.auth.job_credentials import JobCredentials
from jqm_node.auth.users import UsersSource
from jqm_node.auth.verifier import CredentialVerifier
from jqm_node.cluster.forwarding import Forwarder
from jqm_node.cluster.peers import PeerDirectory, PeerPolicy
from jqm_node.config import NodeConfig
from jqm_node.engine import Engine
from jqm_node.inputs import InputFiles
from jqm_node.runner import JobRunner
from jqm_node.security_settings import SecuritySettings
from jqm_node.tls import peer_client_context
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
    security: SecuritySettings = field(default_factory=SecuritySettings)

    @property
    def api_local_url(self) -> str:
        """Where a job reaches this node's API: localhost unless the node listens on one address only."""
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{'https' if self.security.tls else 'http'}://{host}:{self.port}"


class Node:
    def __init__(self, settings: Settings, config: NodeConfig) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.workdir)
        security = settings.security
        self.input_files = InputFiles(
            self.workspace, max_files=security.max_input_files, max_bytes=security.max_input_bytes
        )
        self.job_credentials = JobCredentials()
        self.verifier = (
            CredentialVerifier(UsersSource(security.users_files), self.job_credentials)
            if security.auth_enabled
            else None
        )  # raises UsersError when a users file cannot be used
        runner = JobRunner(
            workspace=self.workspace,
            node_name=settings.name,
            api_local_url=settings.api_local_url,
            kill_grace=settings.kill_grace,
            base_env=_job_base_env(security),
            credentials=self.job_credentials if security.auth_enabled else None,
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
        self.forwarder = Forwarder(
            policy=policy,
            port=settings.peer_port,
            timeout=settings.forward_timeout,
            secret=security.cluster_secret,
            tls=peer_client_context(security.tls) if security.tls else None,
        )
        self.peers = PeerDirectory(policy=policy, static=settings.peers, dns_name=settings.peers_dns)


NODE_KEY = web.AppKey("node", Node)


def _job_base_env(security: SecuritySettings) -> dict[str, str]:
    """The environment every job inherits: the node's own, minus the node's JQM_* settings; with TLS
    and a CA, ``JQM_API_CA_FILE`` tells jobs what to trust on ``JQM_API_LOCAL_URL``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JQM_")}
    if security.tls and security.tls.ca:
        env["JQM_API_CA_FILE"] = str(security.tls.ca)
    return env
