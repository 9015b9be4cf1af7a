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

from jqm_operator.decisions.drains import clipped
from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.decisions.pods import PodProblem

AVAILABLE = "Available"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
AUTHENTICATION_DISABLED = "AuthenticationDisabled"
"""True (a warning, like Degraded) when ``spec.auth.enabled`` is false: the cluster is open to anyone."""
APPLY_FAILED = "ApplyFailed"
UNEXPECTED_DRAIN = "UnexpectedDrain"
MESSAGE_CHARS = 2000


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


@dataclass(frozen=True, kw_only=True)
class Health:
    """Everything besides the Deployment that makes a cluster Degraded, most serious first."""

    apply_failures: tuple[str, ...] = ()
    """Children the operator could not apply (``status.applyFailures``)."""
    pod_problems: tuple[PodProblem, ...] = ()
    """Node pods crash-looping, not starting or not schedulable (read from the pods)."""
    unexpected_drains: tuple[str, ...] = ()
    """Nodes drained by someone else, being recovered (``status.unexpectedDrains``)."""


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
            if node.draining and node.drain_reason:
                entry["drainReason"] = clipped(node.drain_reason)
        entries.append(entry)
    return entries


def highest_usage_percent(nodes: Sequence[NodeObservation]) -> float:
    """The printer column: the fullest node's share of its ID capacity, in percent, 2 decimals."""
    shares = [100.0 * n.ids_used / n.id_capacity for n in nodes if n.reachable and n.id_capacity > 0]
    return round(max(shares, default=0.0), 2)


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}


def _degraded(*, health: Health, workload: WorkloadView | None, counts: str) -> dict[str, str]:
    problems: list[tuple[str, str]] = [(APPLY_FAILED, failure) for failure in health.apply_failures]
    problems += [(p.reason, p.message) for p in health.pod_problems]
    problems += [(UNEXPECTED_DRAIN, drain) for drain in health.unexpected_drains]
    if workload and workload.deadline_exceeded:
        problems.append(("ProgressDeadlineExceeded", f"the node rollout is stuck: {counts}"))
    if not problems:
        return _condition(DEGRADED, False, "AsExpected", counts)
    return _condition(DEGRADED, True, problems[0][0], "; ".join(message for _, message in problems))


def auth_condition(*, enabled: bool) -> dict[str, str]:
    if enabled:
        return _condition(
            AUTHENTICATION_DISABLED, False, "AuthenticationEnabled", "every node API call but health needs credentials"
        )
    return _condition(
        AUTHENTICATION_DISABLED,
        True,
        "AuthenticationDisabled",
        "spec.auth.enabled is false: anyone who reaches the client port can read, enqueue, kill and delete jobs",
    )


def compute_conditions(
    *,
    desired: int,
    workload: WorkloadView | None,
    health: Health,
    restarting: str | None,
    auth_enabled: bool | None = None,
) -> list[dict[str, str]]:
    """Available, Progressing, Degraded (and AuthenticationDisabled when ``auth_enabled`` is known),
    without timestamps (see :func:`merge_conditions`).

    Available: at least one node takes jobs (or none is wanted). Progressing: pods are being created,
    rolled or restarted for the ID limit. Degraded: a child could not be applied, node pods crash-loop or
    cannot start, nodes were drained by someone else, or the rollout is stuck; the reason is the most
    serious one, the message lists them all.
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
    conditions = [available, progressing, _degraded(health=health, workload=workload, counts=counts)]
    if auth_enabled is not None:
        conditions.append(auth_condition(enabled=auth_enabled))
    return conditions


def merge_conditions(
    *, old: Sequence[Mapping[str, Any]] | None, new: Sequence[Mapping[str, str]], generation: int, now: datetime
) -> list[dict[str, Any]]:
    """Stamps ``new`` conditions, keeping each one's transition time when its status did not change.

    Old conditions of a type ``new`` does not compute are kept as they are (a writer that does not know
    the spec leaves AuthenticationDisabled alone).
    """
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for cond in new:
        before = previous.pop(cond["type"], None)
        if before is not None and before.get("status") == cond["status"]:
            since = before.get("lastTransitionTime") or timestamp(now)
        else:
            since = timestamp(now)
        merged.append({**cond, "lastTransitionTime": since, "observedGeneration": generation})
    return merged + [dict(c) for c in previous.values()]
