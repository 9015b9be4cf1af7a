"""The JqmCluster spec as typed, immutable values, with the operator-side defaults.

The API server applies the CRD defaults, but the operator must not depend on that alone: objects created
before a default was added, and the unit tests, hand over partial specs. Every default is written once, on the
dataclasses below (:func:`parse_spec` passes only what a spec sets), and equals the one in
``crds/jqmcluster.yaml`` (a test walks the CRD schema and checks it), so both paths give one answer.
Queues and job definitions stay plain mappings: their CRD field names are, by design, the node's own
configuration keys, so they pass through untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_REPLICAS = 2
DEFAULT_IMAGE = "jqm-node:latest"
DEFAULT_PULL_POLICY = "IfNotPresent"
DEFAULT_RESOURCES: Mapping[str, Any] = MappingProxyType(
    {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
)
DEFAULT_ID_CAPACITY = 1_000_000
"""Upstream's hard limit: a DB-less node hands out at most this many job IDs before it must restart."""


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else ()


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _quantity(value: Any) -> str | None:
    """A Kubernetes quantity as the API accepts it in a manifest (the CRD allows an integer or a string)."""
    return None if value in (None, "") else str(value)


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """The load-balanced Service clients use; LoadBalancer by default, as upstream's deployment."""

    type: str = "LoadBalancer"
    port: int = 1789
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class IngressSpec:
    """An optional Ingress in front of the load-balanced Service."""

    enabled: bool = False
    class_name: str | None = None
    host: str | None = None
    path: str = "/"
    path_type: str = "Prefix"
    tls_secret_name: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class IdLimitPolicy:
    """When a node has used enough of its job IDs, drain it and replace its pod."""

    restart_threshold: float = 0.95
    restart_threshold_ids: int | None = None
    drain_timeout_seconds: int = 600
    node_id_capacity: int = DEFAULT_ID_CAPACITY

    def threshold(self, *, capacity: int) -> int:
        """IDs used at which a node of this ``capacity`` is restarted; the absolute count wins if set."""
        if self.restart_threshold_ids is not None:
            return max(1, min(self.restart_threshold_ids, capacity))
        # round() first: 0.95 * 1_000_000 is 950000.0000000001 in binary floating point.
        return max(1, math.ceil(round(self.restart_threshold * capacity, 6)))


@dataclass(frozen=True, kw_only=True)
class AuthSpec:
    """Authentication of the node APIs; on unless a spec turns it off explicitly."""

    enabled: bool = True
    users_secret_name: str | None = None
    """The user's own Secret with a ``users.yaml`` key, read by the nodes besides the operator's."""
    tls_secret_name: str | None = None
    """A kubernetes.io/tls Secret: the nodes serve HTTPS with it, and the probes switch to HTTPS."""


@dataclass(frozen=True, kw_only=True)
class HistorySpec:
    """Retention of the history a leaving node hands over; None leaves the node's own default."""

    max_jobs: int | None = None
    max_age_seconds: int | None = None
    log_bytes: int | None = None


@dataclass(frozen=True, kw_only=True)
class LimitsSpec:
    """Per-job input limits and the size of the work directory; None leaves the node's own default."""

    max_input_files: int | None = None
    max_input_bytes: int | None = None
    work_dir_size_limit: str | None = None


@dataclass(frozen=True, kw_only=True)
class NetworkPolicySpec:
    """An optional NetworkPolicy on the node pods (core NetworkPolicyPeer lists pass through untouched)."""

    enabled: bool = False
    client_from: tuple[Mapping[str, Any], ...] = ()
    """Who may reach the client port besides the cluster's own nodes; empty means anyone."""
    management_from: tuple[Mapping[str, Any], ...] = ()
    """Who may reach the management port besides the operator (e.g. a metrics scraper)."""


@dataclass(frozen=True, kw_only=True)
class PodOverrides:
    """What a user may add to the node pods without the operator knowing what it means."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    affinity: Mapping[str, Any] = field(default_factory=dict)
    env: tuple[Mapping[str, Any], ...] = ()
    security_context: Mapping[str, Any] = field(default_factory=dict)
    container_security_context: Mapping[str, Any] = field(default_factory=dict)
    priority_class_name: str | None = None
    image_pull_secrets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    """A whole JqmCluster spec, defaults applied."""

    replicas: int = DEFAULT_REPLICAS
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = DEFAULT_PULL_POLICY
    resources: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_RESOURCES))
    shutdown_grace_seconds: int = 30
    kill_grace_seconds: int = 10
    handover_seconds: int = 60
    queues: tuple[Mapping[str, Any], ...] = ()
    job_definitions: tuple[Mapping[str, Any], ...] = ()
    job_definitions_config_maps: tuple[str, ...] = ()
    max_unavailable: int | str = 1
    service: ServiceSpec = field(default_factory=ServiceSpec)
    ingress: IngressSpec = field(default_factory=IngressSpec)
    id_limit: IdLimitPolicy = field(default_factory=IdLimitPolicy)
    pod: PodOverrides = field(default_factory=PodOverrides)
    auth: AuthSpec = field(default_factory=AuthSpec)
    history: HistorySpec = field(default_factory=HistorySpec)
    limits: LimitsSpec = field(default_factory=LimitsSpec)
    network_policy: NetworkPolicySpec = field(default_factory=NetworkPolicySpec)


Reader = tuple[str, Callable[[Any], Any]]
"""(attribute of the dataclass, converter of the CRD value)."""


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _read(data: Mapping[str, Any], readers: Mapping[str, Reader]) -> dict[str, Any]:
    """The attributes the CRD keys of ``data`` set (``""`` and null set nothing), each read by its converter."""
    return {attribute: read(data[key]) for key, (attribute, read) in readers.items() if _given(data.get(key))}


def _build(cls: Callable[..., T], data: Mapping[str, Any], readers: Mapping[str, Reader], **fixed: Any) -> T:
    """``cls`` from what ``data`` sets and ``fixed`` (None values left out); every other attribute keeps the
    dataclass's own default: the defaults are written once, on the dataclasses."""
    return cls(**_read(data, readers), **{name: value for name, value in fixed.items() if value is not None})


_SERVICE: Mapping[str, Reader] = {"type": ("type", str), "port": ("port", int), "annotations": ("annotations", _dict)}
_INGRESS: Mapping[str, Reader] = {
    "enabled": ("enabled", bool), "className": ("class_name", str), "host": ("host", str), "path": ("path", str),
    "pathType": ("path_type", str), "tlsSecretName": ("tls_secret_name", str), "annotations": ("annotations", _dict),
}  # fmt: skip
_ID_LIMIT: Mapping[str, Reader] = {
    "restartThreshold": ("restart_threshold", float), "restartThresholdIds": ("restart_threshold_ids", int),
    "drainTimeoutSeconds": ("drain_timeout_seconds", int), "nodeIdCapacity": ("node_id_capacity", int),
}  # fmt: skip
_POD: Mapping[str, Reader] = {
    "labels": ("labels", _dict), "annotations": ("annotations", _dict), "nodeSelector": ("node_selector", _dict),
    "tolerations": ("tolerations", _list), "affinity": ("affinity", _dict), "env": ("env", _list),
    "securityContext": ("security_context", _dict), "containerSecurityContext": ("container_security_context", _dict),
    "priorityClassName": ("priority_class_name", str), "imagePullSecrets": ("image_pull_secrets", _list),
}  # fmt: skip
_AUTH: Mapping[str, Reader] = {"enabled": ("enabled", bool), "usersSecretName": ("users_secret_name", str)}
_HISTORY: Mapping[str, Reader] = {
    "maxJobs": ("max_jobs", int),
    "maxAgeSeconds": ("max_age_seconds", int),
    "logBytes": ("log_bytes", int),
}
_LIMITS: Mapping[str, Reader] = {"maxInputFiles": ("max_input_files", int), "maxInputBytes": ("max_input_bytes", int)}
_NETWORK_POLICY: Mapping[str, Reader] = {
    "enabled": ("enabled", bool),
    "clientFrom": ("client_from", _list),
    "managementFrom": ("management_from", _list),
}
_NODE_CONFIG: Mapping[str, Reader] = {
    "shutdownGraceSeconds": ("shutdown_grace_seconds", int), "killGraceSeconds": ("kill_grace_seconds", int),
    "handoverSeconds": ("handover_seconds", int),
}  # fmt: skip
_CLUSTER: Mapping[str, Reader] = {
    "replicas": ("replicas", int), "image": ("image", str), "imagePullPolicy": ("image_pull_policy", str),
    "resources": ("resources", _dict), "queues": ("queues", _list), "jobDefinitions": ("job_definitions", _list),
}  # fmt: skip


def parse_spec(spec: Mapping[str, Any] | None) -> ClusterSpec:
    """Reads a JqmCluster ``spec`` (possibly partial) into a :class:`ClusterSpec`; what it leaves out takes
    the dataclasses' defaults."""
    spec = spec or {}
    pod, limits, auth = _dict(spec.get("pod")), _dict(spec.get("limits")), _dict(spec.get("auth"))
    pdb = _dict(spec.get("podDisruptionBudget"))
    return _build(
        ClusterSpec,
        spec,
        _CLUSTER,
        **_read(_dict(spec.get("nodeConfig")), _NODE_CONFIG),
        job_definitions_config_maps=tuple(
            ref["name"] for ref in _list(spec.get("jobDefinitionsFrom")) if isinstance(ref, Mapping)
        ),
        max_unavailable=pdb.get("maxUnavailable"),
        service=_build(ServiceSpec, _dict(spec.get("service")), _SERVICE),
        ingress=_build(IngressSpec, _dict(spec.get("ingress")), _INGRESS),
        id_limit=_build(IdLimitPolicy, _dict(spec.get("idLimit")), _ID_LIMIT),
        pod=_build(PodOverrides, pod, _POD),
        auth=_build(AuthSpec, auth, _AUTH, tls_secret_name=_dict(auth.get("tls")).get("secretName") or None),
        history=_build(HistorySpec, _dict(spec.get("history")), _HISTORY),
        limits=_build(
            LimitsSpec,
            limits,
            _LIMITS,
            # pod.workDirSizeLimit is the deprecated place of the same setting (the CRD refuses both at once).
            work_dir_size_limit=_quantity(limits.get("workDirSizeLimit") or pod.get("workDirSizeLimit")),
        ),
        network_policy=_build(NetworkPolicySpec, _dict(spec.get("networkPolicy")), _NETWORK_POLICY),
    )
