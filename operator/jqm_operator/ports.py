"""The two outside worlds the services talk to, as Protocols, and the errors they raise.

The services (:mod:`jqm_operator.reconcile`, :mod:`jqm_operator.nodetimer` and its parts) depend on these interfaces
only; :mod:`jqm_operator.kube` and :mod:`jqm_operator.nodeapi` implement them with real clients, the unit
tests with in-memory fakes. That keeps the orchestration testable without an API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class ApiRefused(Exception):
    """The API server refused a call (or could not be reached: ``status`` 0), with its own message."""

    def __init__(self, *, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class ClusterApi(Protocol):
    """The Kubernetes calls the operator makes; every object is a plain dict in API (camelCase) form.

    Calls that change objects raise :class:`ApiRefused`.
    """

    def apply(self, manifest: Mapping[str, Any]) -> None:
        """Server-side apply with the operator's field manager, taking over conflicting fields."""

    def replace(self, manifest: Mapping[str, Any]) -> None:
        """PUT of a whole object (its ``metadata.resourceVersion`` set): when an apply cannot be merged."""

    def create(self, manifest: Mapping[str, Any]) -> None:
        """POST of a new object; ``ApiRefused`` with status 409 when it exists already."""

    def merge_patch(self, *, kind: str, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """JSON merge patch of one object."""

    def delete_if_exists(self, *, kind: str, namespace: str, name: str) -> bool:
        """Deletes one child; False when it did not exist."""

    def get(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Reads one object of a kind the operator manages (or a ConfigMap or Secret); None when absent."""

    def list_pods(self, *, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """Pods matching all ``labels``."""

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        """Evicts through the Eviction API (PDB enforced); False when the budget refuses it now."""

    def delete_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        """Deletes the pod with that uid, with its grace period; False when it was gone already."""

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        """A JqmCluster's status as stored now (not as last seen by a watch); empty when unset."""

    def read_cluster(self, *, namespace: str, name: str) -> dict[str, Any]:
        """A whole JqmCluster as stored now (metadata with its resourceVersion, spec, status)."""

    def patch_cluster_status(
        self, *, namespace: str, name: str, status: Mapping[str, Any], resource_version: str | None = None
    ) -> None:
        """JSON merge patch of a JqmCluster's status subresource (None values delete keys).

        With ``resource_version`` the patch applies only to that version of the object (optimistic
        concurrency): :class:`ApiRefused` with status 409 when someone wrote in between."""


@dataclass(frozen=True, kw_only=True)
class NodeRef:
    """One node to call: its pod, its cluster (whose Secret holds the management token), how to reach it."""

    namespace: str
    cluster: str
    pod: str
    ip: str
    tls: bool = False


class NodeApi(Protocol):
    """The node management API (docs/NODE.md) on the management port, addressed by pod."""

    def status(self, node: NodeRef) -> dict[str, Any]:
        """``GET /node/status``; raises :class:`NodeUnreachable` when the node does not answer."""

    def drain(self, node: NodeRef, *, reason: str) -> None:
        """``POST /node/drain`` with the management token; idempotent on the node."""

    def undrain(self, node: NodeRef) -> None:
        """``POST /node/undrain`` with the management token: the node takes work again."""


class NodeUnreachable(Exception):
    """A node did not answer its management API (not started, gone, network refused), or refused the call."""
