"""The JqmCluster spec as typed, immutable values, with the operator-side defaults.

The API server applies the CRD defaults, but the operator must not depend on that alone: objects created
before a default was added, and the unit tests, hand over partial specs. Every default here equals the one
in ``crds/jqmcluster.yaml`` (a test walks the CRD schema and checks it), so both paths give one answer.
Queues and job definitions stay plain mappings: their CRD field names are, by design, the node's own
configuration keys, so they pass through untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

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


def parse_spec(spec: Mapping[str, Any] | None) -> ClusterSpec:
    """Reads a JqmCluster ``spec`` (possibly partial) into a :class:`ClusterSpec`."""
    spec = spec or {}
    nodes = _dict(spec.get("nodeConfig"))
    svc = _dict(spec.get("service"))
    ing = _dict(spec.get("ingress"))
    idl = _dict(spec.get("idLimit"))
    pod = _dict(spec.get("pod"))
    pdb = _dict(spec.get("podDisruptionBudget"))
    auth = _dict(spec.get("auth"))
    history = _dict(spec.get("history"))
    limits = _dict(spec.get("limits"))
    policy = _dict(spec.get("networkPolicy"))
    return ClusterSpec(
        replicas=int(spec.get("replicas", DEFAULT_REPLICAS)),
        image=spec.get("image") or DEFAULT_IMAGE,
        image_pull_policy=spec.get("imagePullPolicy") or DEFAULT_PULL_POLICY,
        resources=_dict(spec["resources"]) if "resources" in spec else dict(DEFAULT_RESOURCES),
        shutdown_grace_seconds=int(nodes.get("shutdownGraceSeconds", 30)),
        kill_grace_seconds=int(nodes.get("killGraceSeconds", 10)),
        handover_seconds=int(nodes.get("handoverSeconds", 60)),
        queues=_list(spec.get("queues")),
        job_definitions=_list(spec.get("jobDefinitions")),
        job_definitions_config_maps=tuple(
            ref["name"] for ref in _list(spec.get("jobDefinitionsFrom")) if isinstance(ref, Mapping)
        ),
        max_unavailable=pdb.get("maxUnavailable", 1),
        service=ServiceSpec(
            type=svc.get("type", "LoadBalancer"),
            port=int(svc.get("port", 1789)),
            annotations=_dict(svc.get("annotations")),
        ),
        ingress=IngressSpec(
            enabled=bool(ing.get("enabled", False)),
            class_name=ing.get("className"),
            host=ing.get("host"),
            path=ing.get("path", "/"),
            path_type=ing.get("pathType", "Prefix"),
            tls_secret_name=ing.get("tlsSecretName"),
            annotations=_dict(ing.get("annotations")),
        ),
        id_limit=IdLimitPolicy(
            restart_threshold=float(idl.get("restartThreshold", 0.95)),
            restart_threshold_ids=idl.get("restartThresholdIds"),
            drain_timeout_seconds=int(idl.get("drainTimeoutSeconds", 600)),
            node_id_capacity=int(idl.get("nodeIdCapacity", DEFAULT_ID_CAPACITY)),
        ),
        pod=PodOverrides(
            labels=_dict(pod.get("labels")),
            annotations=_dict(pod.get("annotations")),
            node_selector=_dict(pod.get("nodeSelector")),
            tolerations=_list(pod.get("tolerations")),
            affinity=_dict(pod.get("affinity")),
            env=_list(pod.get("env")),
            security_context=_dict(pod.get("securityContext")),
            container_security_context=_dict(pod.get("containerSecurityContext")),
            priority_class_name=pod.get("priorityClassName"),
            image_pull_secrets=tuple(_list(pod.get("imagePullSecrets"))),
        ),
        auth=AuthSpec(
            enabled=bool(auth.get("enabled", True)),
            users_secret_name=auth.get("usersSecretName") or None,
            tls_secret_name=_dict(auth.get("tls")).get("secretName") or None,
        ),
        history=HistorySpec(
            max_jobs=_optional_int(history.get("maxJobs")),
            max_age_seconds=_optional_int(history.get("maxAgeSeconds")),
            log_bytes=_optional_int(history.get("logBytes")),
        ),
        limits=LimitsSpec(
            max_input_files=_optional_int(limits.get("maxInputFiles")),
            max_input_bytes=_optional_int(limits.get("maxInputBytes")),
            # pod.workDirSizeLimit is the deprecated place of the same setting (the CRD refuses both at once).
            work_dir_size_limit=_quantity(limits.get("workDirSizeLimit") or pod.get("workDirSizeLimit")),
        ),
        network_policy=NetworkPolicySpec(
            enabled=bool(policy.get("enabled", False)),
            client_from=_list(policy.get("clientFrom")),
            management_from=_list(policy.get("managementFrom")),
        ),
    )
