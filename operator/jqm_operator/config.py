"""Operator-process settings read from the environment (the chart sets them), with their defaults.

Pure: :meth:`OperatorConfig.from_env` takes the mapping, so tests pass dicts. "Peering" is kopf's
coordination of operator replicas; ``peering=""`` runs this replica unpeered (kopf's ``--standalone``
flag), which has nothing to do with JQM's DB-less ("standalone") nodes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PRIORITY_RANGE = 2**30
"""Random priorities are drawn from here; two replicas of equal priority would both pause."""


@dataclass(frozen=True, kw_only=True)
class OperatorConfig:
    namespaces: tuple[str, ...] = ()
    peering: str = ""
    priority: int = 0
    liveness: str = "http://0.0.0.0:8080/healthz"
    node_access: str = "auto"
    resync_seconds: float = 30.0
    idlimit_seconds: float = 15.0
    watch_server_timeout: int = 270
    watch_client_timeout: int = 300
    connect_timeout: int = 10
    request_timeout: int = 60
    pod_namespace: str = ""
    """The operator pod's namespace and labels: a JqmCluster's NetworkPolicy admits them to the management
    port. Empty when the operator runs outside a cluster."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    management_from: tuple[Mapping[str, Any], ...] = ()
    """NetworkPolicyPeers admitted to every cluster's management port besides the operator (a Prometheus
    scraping the nodes' /metrics), when a JqmCluster asks for a NetworkPolicy."""
    metrics_listen: str = "0.0.0.0:9180"
    """Where the operator serves its own /metrics (``host:port``); empty: not served."""

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperatorConfig:
        def number(key: str, default: float) -> float:
            value = env.get(key, "").strip()
            return float(value) if value else default

        raw_priority = env.get("JQM_OPERATOR_PRIORITY", "").strip()
        server_timeout = int(number("JQM_OPERATOR_WATCH_TIMEOUT_SECONDS", 270))
        return cls(
            namespaces=tuple(ns.strip() for ns in env.get("JQM_OPERATOR_NAMESPACES", "").split(",") if ns.strip()),
            peering=env.get("JQM_OPERATOR_PEERING", "").strip(),
            priority=int(raw_priority) if raw_priority else secrets.randbelow(PRIORITY_RANGE) + 1,
            liveness=env.get("JQM_OPERATOR_LIVENESS", cls.liveness).strip(),
            node_access=env.get("JQM_OPERATOR_NODE_ACCESS", "auto").strip() or "auto",
            resync_seconds=number("JQM_OPERATOR_RESYNC_SECONDS", 30.0),
            idlimit_seconds=number("JQM_OPERATOR_IDLIMIT_SECONDS", 15.0),
            watch_server_timeout=server_timeout,
            # The client gives up a little after the server should have closed the stream: a silent,
            # half-dead watch connection is then noticed and reopened instead of starving the operator.
            watch_client_timeout=server_timeout + 30,
            pod_namespace=env.get("JQM_OPERATOR_POD_NAMESPACE", "").strip(),
            pod_labels=parse_labels(env.get("JQM_OPERATOR_POD_LABELS", "")),
            management_from=parse_peers(env.get("JQM_OPERATOR_MANAGEMENT_FROM", "")),
            metrics_listen=env.get("JQM_OPERATOR_METRICS_LISTEN", cls.metrics_listen).strip(),
        )

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """``metrics_listen`` as (host, port); None when metrics are off. Raises ValueError when malformed."""
        if not self.metrics_listen:
            return None
        host, sep, port = self.metrics_listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"JQM_OPERATOR_METRICS_LISTEN: {self.metrics_listen!r} is not host:port")
        return host, int(port)


def parse_labels(text: str) -> dict[str, str]:
    """``a=b,c=d`` as a mapping; pairs without ``=`` are refused, so a typo does not widen a selector."""
    labels = {}
    for pair in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"JQM_OPERATOR_POD_LABELS: {pair!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def parse_peers(text: str) -> tuple[dict[str, Any], ...]:
    """A JSON list of NetworkPolicyPeers (objects with podSelector, namespaceSelector or ipBlock)."""
    if not text.strip():
        return ()
    try:
        peers = json.loads(text)
    except ValueError as e:
        raise ValueError(f"JQM_OPERATOR_MANAGEMENT_FROM is not JSON: {e}") from None
    if not isinstance(peers, list) or not all(
        isinstance(p, dict) and p and set(p) <= {"podSelector", "namespaceSelector", "ipBlock"} for p in peers
    ):
        raise ValueError(
            "JQM_OPERATOR_MANAGEMENT_FROM must be a JSON list of NetworkPolicyPeers "
            "(objects with podSelector, namespaceSelector or ipBlock)"
        )
    return tuple(peers)
