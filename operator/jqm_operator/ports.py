"""The two outside worlds the services talk to, as Protocols.

The services (:mod:`jqm_operator.reconcile`, :mod:`jqm_operator.restarts`) depend on these interfaces
only; :mod:`jqm_operator.kube` and :mod:`jqm_operator.nodeapi` implement them with real clients, the unit
tests with in-memory fakes. That keeps the orchestration testable without an API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ClusterApi(Protocol):
    """The Kubernetes calls the operator makes; every object is a plain dict in API (camelCase) form."""

    def apply(self, manifest: Mapping[str, Any]) -> None:
        """Server-side apply with the operator's field manager, taking over conflicting fields."""

    def delete_if_exists(self, *, kind: str, namespace: str, name: str) -> bool:
        """Deletes one child; False when it did not exist."""

    def get(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Reads one object of a kind the operator manages (or a ConfigMap); None when absent."""

    def list_pods(self, *, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """Pods matching all ``labels``."""

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        """Evicts through the Eviction API (PDB enforced); False when the budget refuses it now."""

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        """A JqmCluster's status as stored now (not as last seen by a watch); empty when unset."""

    def patch_cluster_status(self, *, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """JSON merge patch of a JqmCluster's status subresource (None values delete keys)."""


class NodeApi(Protocol):
    """The node management API (docs/NODE.md), addressed by pod."""

    def status(self, *, namespace: str, pod: str, ip: str) -> dict[str, Any]:
        """``GET /node/status``; raises :class:`NodeUnreachable` when the node does not answer."""

    def drain(self, *, namespace: str, pod: str, ip: str) -> None:
        """``POST /node/drain``; idempotent on the node; raises :class:`NodeUnreachable`."""


class NodeUnreachable(Exception):
    """A node did not answer its management API (not started, gone, or network refused)."""
