"""Pure computation of the JqmCluster status: per-node list, ID usage, standard conditions.

Conditions follow Kubernetes conventions (type/status/reason/message/lastTransitionTime/observedGeneration)
and keep their ``lastTransitionTime`` unless their status really changes, so ``kubectl wait
--for=condition=Available`` and dashboards see real transitions, not one per reconcile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jqm_operator.decisions.restart import NodeObservation

AVAILABLE = "Available"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"


def timestamp(now: datetime) -> str:
    """RFC 3339 in UTC with a Z, second precision, as the API server writes times."""
    return now.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class WorkloadView:
    """What the conditions need from the Deployment (None when it does not exist yet)."""

    generation: int = 0
    observed_generation: int = 0
    replicas: int = 0
    ready_replicas: int = 0
    updated_replicas: int = 0
    deadline_exceeded: bool = False

    @classmethod
    def from_deployment(cls, deployment: Mapping[str, Any] | None) -> WorkloadView | None:
        if not deployment:
            return None
        status = deployment.get("status") or {}
        conditions = status.get("conditions") or []
        return cls(
            generation=int((deployment.get("metadata") or {}).get("generation") or 0),
            observed_generation=int(status.get("observedGeneration") or 0),
            replicas=int(status.get("replicas") or 0),
            ready_replicas=int(status.get("readyReplicas") or 0),
            updated_replicas=int(status.get("updatedReplicas") or 0),
            deadline_exceeded=any(
                c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded" for c in conditions
            ),
        )


def node_entries(nodes: Sequence[NodeObservation]) -> list[dict[str, Any]]:
    """``status.nodes``: one entry per pod, sorted by pod name for stable diffs."""
    entries = []
    for node in sorted(nodes, key=lambda n: n.pod):
        entry: dict[str, Any] = {"pod": node.pod, "ready": node.ready, "reachable": node.reachable}
        if node.ip:
            entry["ip"] = node.ip
        if node.reachable:
            entry |= {
                "idsUsed": node.ids_used,
                "idCapacity": node.id_capacity,
                "draining": node.draining,
                "running": node.running,
                "queued": node.queued,
            }
        entries.append(entry)
    return entries


def highest_usage_percent(nodes: Sequence[NodeObservation]) -> float:
    """The printer column: the fullest node's share of its ID capacity, in percent, 2 decimals."""
    shares = [100.0 * n.ids_used / n.id_capacity for n in nodes if n.reachable and n.id_capacity > 0]
    return round(max(shares, default=0.0), 2)


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}


def compute_conditions(
    *, desired: int, workload: WorkloadView | None, apply_error: str | None, restarting: str | None
) -> list[dict[str, str]]:
    """Available, Progressing and Degraded, without timestamps (see :func:`merge_conditions`).

    Available: at least one node takes jobs (or none is wanted). Progressing: pods are being created,
    rolled or restarted for the ID limit. Degraded: the operator could not apply the children, or the
    rollout is stuck, or nodes are missing while nothing progresses.
    """
    ready = workload.ready_replicas if workload else 0
    counts = f"{ready}/{desired} nodes ready"
    if desired == 0:
        available = _condition(AVAILABLE, True, "ScaledToZero", "no node is wanted")
    else:
        available = _condition(AVAILABLE, ready > 0, "NodesReady" if ready else "NoNodeReady", counts)
    rolling = workload is None or (
        workload.observed_generation < workload.generation
        or workload.updated_replicas < desired
        or workload.replicas != desired
        or ready < desired
    )
    if restarting:
        progressing = _condition(PROGRESSING, True, "IdLimitRestart", restarting)
    elif rolling and not (workload and workload.deadline_exceeded):
        progressing = _condition(PROGRESSING, True, "RollingOut", counts)
    else:
        progressing = _condition(PROGRESSING, False, "Stable" if not rolling else "Stalled", counts)
    if apply_error:
        degraded = _condition(DEGRADED, True, "ApplyFailed", apply_error)
    elif workload and workload.deadline_exceeded:
        degraded = _condition(DEGRADED, True, "ProgressDeadlineExceeded", counts)
    else:
        degraded = _condition(DEGRADED, False, "AsExpected", counts)
    return [available, progressing, degraded]


def merge_conditions(
    *, old: Sequence[Mapping[str, Any]] | None, new: Sequence[Mapping[str, str]], generation: int, now: datetime
) -> list[dict[str, Any]]:
    """Stamps ``new`` conditions, keeping each one's transition time when its status did not change."""
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for cond in new:
        before = previous.get(cond["type"])
        changed = before is None or before.get("status") != cond["status"]
        since = timestamp(now) if changed else before.get("lastTransitionTime", timestamp(now))
        merged.append({**cond, "lastTransitionTime": since, "observedGeneration": generation})
    return merged
