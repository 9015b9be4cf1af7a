"""Reconciliation of one JqmCluster: apply its children, then compute the workload part of its status.

Called on create/update/resume and by the resync timer. Server-side apply makes every call idempotent:
an unchanged manifest is a no-op on the API server, a drifted field is taken back, a deleted child is
recreated. Nothing here imports kopf: results carry :class:`Note` values that the handlers turn into
Kubernetes Events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jqm_operator.builders import Owner, build_children, child_names, selector_labels
from jqm_operator.model import ClusterSpec
from jqm_operator.ports import ClusterApi
from jqm_operator.status import WorkloadView, compute_conditions, merge_conditions


@dataclass(frozen=True, kw_only=True)
class Note:
    """Something a user should see as an Event on the JqmCluster."""

    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Applied:
    """What :func:`apply_children` did."""

    checksum: str
    notes: tuple[Note, ...] = field(default_factory=tuple)


def _digest(data: Mapping[str, Any] | None) -> str:
    if data is None:
        return "absent"
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def apply_children(*, api: ClusterApi, owner: Owner, spec: ClusterSpec, previous_checksum: str | None) -> Applied:
    """Applies every child; a config change is reported since it rolls the pods."""
    notes: list[Note] = []
    external: dict[str, str] = {}
    for name in spec.job_definitions_config_maps:
        configmap = api.get(kind="ConfigMap", namespace=owner.namespace, name=name)
        if configmap is None:
            notes.append(
                Note(
                    type="Warning",
                    reason="JobDefinitionsMissing",
                    message=f"ConfigMap {name} (jobDefinitionsFrom) does not exist; node pods cannot start",
                )
            )
        external[name] = _digest(None if configmap is None else configmap.get("data") or {})
    children = build_children(owner=owner, spec=spec, external=external)
    for manifest in children.manifests:
        api.apply(manifest)
    for kind, name in children.absent:
        if api.delete_if_exists(kind=kind, namespace=owner.namespace, name=name):
            notes.append(Note(type="Normal", reason="Deleted", message=f"{kind} {name} removed (disabled in spec)"))
    if previous_checksum and previous_checksum != children.checksum:
        notes.append(
            Note(type="Normal", reason="ConfigChanged", message="node configuration changed; rolling the nodes")
        )
    return Applied(checksum=children.checksum, notes=tuple(notes))


def _workload_fields(
    *,
    deployment: Mapping[str, Any] | None,
    desired: int,
    old_status: Mapping[str, Any],
    apply_error: str | None,
    generation: int,
    now: datetime,
) -> dict[str, Any]:
    workload = WorkloadView.from_deployment(deployment)
    drain = (old_status.get("idLimit") or {}).get("drain") or None
    restarting = f"restarting node {drain['pod']} for its ID limit" if drain and drain.get("pod") else None
    conditions = compute_conditions(desired=desired, workload=workload, apply_error=apply_error, restarting=restarting)
    return {
        "replicas": workload.replicas if workload else 0,
        "readyReplicas": workload.ready_replicas if workload else 0,
        "conditions": merge_conditions(
            old=old_status.get("conditions"), new=conditions, generation=generation, now=now
        ),
    }


def workload_status(
    *,
    api: ClusterApi,
    owner: Owner,
    spec: ClusterSpec,
    generation: int,
    old_status: Mapping[str, Any],
    checksum: str | None,
    apply_error: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The status fields owned by reconciliation (the ID-limit timer owns ``nodes`` and ``idLimit``)."""
    deployment = api.get(kind="Deployment", namespace=owner.namespace, name=child_names(owner.name)["deployment"])
    status = _workload_fields(
        deployment=deployment,
        desired=spec.replicas,
        old_status=old_status,
        apply_error=apply_error,
        generation=generation,
        now=now,
    )
    status["selector"] = ",".join(f"{k}={v}" for k, v in sorted(selector_labels(owner.name).items()))
    if apply_error is None:
        status["observedGeneration"] = generation
    if checksum:
        status["configChecksum"] = checksum
    return status


def workload_refresh(
    *, api: ClusterApi, namespace: str, name: str, deployment: Mapping[str, Any], now: datetime
) -> dict[str, Any] | None:
    """Status fields to patch when the node Deployment's status changes, or None if nothing changes.

    Lets readiness reach the JqmCluster (and ``kubectl wait --for=condition=Available``) at once instead
    of at the next resync. A standing apply failure is kept: only reconciliation may clear it.
    """
    old = api.get_cluster_status(namespace=namespace, name=name)
    degraded = next((c for c in old.get("conditions") or [] if c.get("type") == "Degraded"), {})
    fields = _workload_fields(
        deployment=deployment,
        desired=int((deployment.get("spec") or {}).get("replicas") or 0),
        old_status=old,
        apply_error=degraded.get("message") if degraded.get("reason") == "ApplyFailed" else None,
        generation=int(old.get("observedGeneration") or 0),
        now=now,
    )
    unchanged = all(old.get(key) == value for key, value in fields.items())
    return None if unchanged else fields
