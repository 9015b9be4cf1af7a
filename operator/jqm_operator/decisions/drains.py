"""Nodes draining although the operator did not drain them, and how to bring them back.

A drained node leaves the load balancer and takes no job. The operator drains a node only for its ID
limit (recorded in ``status.idLimit.drain`` before the request), and a node drains by itself on SIGTERM
(``drainReason: "sigterm"``: its pod is being deleted or its container restarted). Any other draining
node was drained by someone else; left alone, enough of them leave the cluster at zero ready nodes with
a PodDisruptionBudget blocking every eviction. Recovery, one step per check:

1. ``POST /node/undrain`` (the node takes work again);
2. if that fails, or the node is still draining at the next check, its pod is deleted: the Deployment
   creates a replacement at once while the drained node finishes its jobs (a surge of one; the
   drained node served no client anyway).

Every such node is recorded in ``status.unexpectedDrains`` until it is back or gone, and the cluster is
Degraded (reason ``UnexpectedDrain``) meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jqm_operator import constants as c
from jqm_operator.decisions.observation import NodeObservation

UNDRAIN = "Undrain"
REPLACE = "Replace"
REASON_CHARS = 80
"""Of the drain reason a node reports (free text from whoever drained it) in Events and status."""


def clipped(reason: str) -> str:
    """The node's drain reason cut short (it is free text from whoever drained the node)."""
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def shown_reason(reason: str | None) -> str:
    """The node's drain reason, quoted and cut short, for messages."""
    return repr(clipped(reason)) if reason else "none given"


@dataclass(frozen=True, kw_only=True)
class Recovery:
    """One entry of ``status.unexpectedDrains``."""

    pod: str
    pod_uid: str
    since: datetime
    reason: str | None = None
    replaced: bool = False

    def to_status(self) -> dict[str, Any]:
        stored = {
            "pod": self.pod,
            "podUID": self.pod_uid,
            "since": self.since.isoformat().replace("+00:00", "Z"),
            "replaced": self.replaced,
        }
        return stored | ({"drainReason": clipped(self.reason)} if self.reason else {})

    @classmethod
    def from_status(cls, data: Any) -> Recovery | None:
        if not isinstance(data, dict) or not data.get("podUID") or not data.get("since"):
            return None
        try:
            since = datetime.fromisoformat(str(data["since"]).replace("Z", "+00:00"))
        except ValueError:
            return None
        return cls(
            pod=str(data.get("pod") or ""),
            pod_uid=str(data["podUID"]),
            since=since,
            reason=data.get("drainReason"),
            replaced=bool(data.get("replaced")),
        )

    def describe(self) -> str:
        step = "its pod is being replaced" if self.replaced else "being undrained"
        return f"node {self.pod} drained by someone else (reason {shown_reason(self.reason)}), {step}"


@dataclass(frozen=True, kw_only=True)
class Step:
    action: str
    node: NodeObservation


@dataclass(frozen=True, kw_only=True)
class RecoveryPlan:
    steps: tuple[Step, ...]
    records: tuple[Recovery, ...]
    """``status.unexpectedDrains`` once the steps are done (a failed undrain adds a replacement)."""
    recovered: tuple[Recovery, ...]
    """Records closed now: the node takes work again, or its pod is gone."""


def is_unexpected(node: NodeObservation, *, operator_drain_uid: str | None) -> bool:
    """Draining, answering, not shutting down, and not the node the operator drains for its ID limit."""
    return (
        node.reachable
        and node.draining
        and not node.terminating
        and not node.stopping
        and node.drain_reason != c.SIGTERM_DRAIN_REASON
        and node.uid != operator_drain_uid
    )


def plan(
    *,
    nodes: Sequence[NodeObservation],
    records: Sequence[Recovery],
    operator_drain_uid: str | None,
    now: datetime,
) -> RecoveryPlan:
    """The recovery steps due now and the records that follow."""
    known = {r.pod_uid: r for r in records}
    present = {n.uid: n for n in nodes}
    steps: list[Step] = []
    kept: dict[str, Recovery] = {}
    for node in nodes:
        if not is_unexpected(node, operator_drain_uid=operator_drain_uid):
            continue
        record = known.get(node.uid)
        if record is None:
            steps.append(Step(action=UNDRAIN, node=node))
            kept[node.uid] = Recovery(pod=node.pod, pod_uid=node.uid, since=now, reason=node.drain_reason)
        elif not record.replaced:
            steps.append(Step(action=REPLACE, node=node))  # undrained at the last check, draining again
            kept[node.uid] = replace(record, replaced=True)
        else:
            kept[node.uid] = record
    recovered = []
    for record in records:
        if record.pod_uid in kept:
            continue
        seen = present.get(record.pod_uid)
        waiting = seen is not None and (not seen.reachable or (record.replaced and seen.terminating))
        if waiting:
            kept[record.pod_uid] = record  # not seen answering yet, or the replaced pod is still finishing
        else:
            recovered.append(record)
    return RecoveryPlan(steps=tuple(steps), records=tuple(kept.values()), recovered=tuple(recovered))
