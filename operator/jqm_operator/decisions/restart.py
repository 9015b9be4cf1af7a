"""The restart decision: which node to drain, when to evict it, when a restart is over.

A DB-less node must be restarted before it has handed out all its job IDs. Restarting means: drain the node
(it leaves the load balancer while its running and queued jobs finish), then evict its pod so the Deployment
replaces it with an empty node. The rules:

* one node at a time per cluster, the one with most IDs used first;
* never below the PodDisruptionBudget: a ready node is drained only while the budget allows a disruption,
  and the pod is removed through the Eviction API, which enforces the budget again;
* the drain under way is persisted (``status.idLimit.drain``) before it is requested, so an operator
  restart resumes it with its original start time (the timeout is not reset, the drain is not repeated on
  another node). A node found draining with no record was drained by someone else: that is
  :mod:`jqm_operator.decisions.drains`' business, not a restart.

This module only decides; :mod:`jqm_operator.nodewatch` observes, :mod:`jqm_operator.idlimit_step` acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.model import IdLimitPolicy


@dataclass(frozen=True, kw_only=True)
class DrainState:
    """The restart under way, as persisted in the JqmCluster status."""

    pod: str
    pod_uid: str
    started_at: datetime
    ip: str | None = None
    ids_used: int = 0
    evicted: bool = False

    def to_status(self) -> dict[str, Any]:
        stored = {
            "pod": self.pod,
            "podUID": self.pod_uid,
            "startedAt": self.started_at.isoformat().replace("+00:00", "Z"),
            "idsUsed": self.ids_used,
            "evicted": self.evicted,
        }
        return stored | ({"ip": self.ip} if self.ip else {})

    @classmethod
    def from_status(cls, data: Any) -> DrainState | None:
        """Reads ``status.idLimit.drain``; None when absent or unreadable."""
        if not isinstance(data, dict) or not data.get("pod") or not data.get("startedAt"):
            return None
        try:
            started = datetime.fromisoformat(str(data["startedAt"]).replace("Z", "+00:00"))
        except ValueError:
            return None
        return cls(
            pod=str(data["pod"]),
            pod_uid=str(data.get("podUID") or ""),
            started_at=started,
            ip=data.get("ip"),
            ids_used=int(data.get("idsUsed") or 0),
            evicted=bool(data.get("evicted")),
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What to do now. ``action`` is one of the constants below; ``state`` is the drain it concerns."""

    action: str
    reason: str
    message: str
    state: DrainState | None = None


IDLE = "Idle"  # nothing to do
BLOCKED = "Blocked"  # a node needs a restart, but not now (message says why)
START_DRAIN = "StartDrain"  # persist state, then POST /node/drain
RESEND_DRAIN = "ResendDrain"  # state persisted but the node is not draining: POST again (idempotent)
WAIT_DRAIN = "WaitDrain"  # drain under way, jobs still running or queued
EVICT = "Evict"  # drain over (or timed out): evict the pod, mark state evicted
WAIT_EVICTION = "WaitEviction"  # evicted, pod still terminating
FINISH = "Finish"  # evicted pod gone: clear state, count the restart
ABANDON = "Abandon"  # the drained pod vanished without our eviction: clear state


def _find(nodes: Sequence[NodeObservation], state: DrainState) -> NodeObservation | None:
    for node in nodes:
        if node.pod == state.pod and (not state.pod_uid or node.uid == state.pod_uid):
            return node
    return None


def _continue(*, policy: IdLimitPolicy, node: NodeObservation | None, state: DrainState, now: datetime) -> Decision:
    if node is None:
        if state.evicted:
            return Decision(action=FINISH, reason="Restarted", message=f"pod {state.pod} replaced", state=state)
        return Decision(
            action=ABANDON,
            reason="DrainAbandoned",
            message=f"pod {state.pod} disappeared while draining; it was not evicted by the operator",
            state=state,
        )
    if state.evicted:
        return Decision(action=WAIT_EVICTION, reason="Evicted", message=f"pod {state.pod} terminating", state=state)
    elapsed = (now - state.started_at).total_seconds()
    if node.reachable and node.draining and not node.accepting and node.running == 0 and node.queued == 0:
        return Decision(action=EVICT, reason="Drained", message=f"node {state.pod} has no job left", state=state)
    if elapsed >= policy.drain_timeout_seconds:
        return Decision(
            action=EVICT,
            reason="DrainTimeout",
            message=(
                f"node {state.pod} still had {node.running} running and {node.queued} queued jobs "
                f"after the {policy.drain_timeout_seconds}s drain timeout"
            ),
            state=state,
        )
    if node.reachable and not node.draining:
        return Decision(
            action=RESEND_DRAIN, reason="Draining", message=f"node {state.pod} is not draining yet", state=state
        )
    return Decision(
        action=WAIT_DRAIN,
        reason="Draining",
        message=f"node {state.pod}: {node.running} running, {node.queued} queued, {int(elapsed)}s into the drain",
        state=state,
    )


def decide(
    *,
    policy: IdLimitPolicy,
    nodes: Sequence[NodeObservation],
    state: DrainState | None,
    disruptions_allowed: int | None,
    desired_replicas: int,
    now: datetime,
) -> Decision:
    """The one thing to do now for one cluster.

    ``disruptions_allowed`` is the PodDisruptionBudget's current figure, None when the budget is not yet
    observed by the disruption controller (treated as none allowed).
    """
    if state is not None:
        return _continue(policy=policy, node=_find(nodes, state), state=state, now=now)
    live = [n for n in nodes if not n.terminating]
    due = [
        n for n in live if n.reachable and n.id_capacity > 0 and n.ids_used >= policy.threshold(capacity=n.id_capacity)
    ]
    if not due:
        return Decision(action=IDLE, reason="BelowThreshold", message="no node is past its ID threshold")
    node = sorted(due, key=lambda n: (-n.ids_used, n.pod))[0]
    threshold = policy.threshold(capacity=node.id_capacity)
    others_ready = sum(1 for n in live if n.ready and n is not node)
    if len(live) < len(nodes):
        return _blocked(node, "a node pod is terminating; one restart at a time")
    if others_ready < desired_replicas - 1:
        return _blocked(node, f"only {others_ready} of the other {desired_replicas - 1} nodes are ready")
    if node.ready and (disruptions_allowed or 0) < 1:
        return _blocked(node, "the PodDisruptionBudget allows no disruption now")
    return Decision(
        action=START_DRAIN,
        reason="IdThresholdReached",
        message=f"node {node.pod} used {node.ids_used} of {node.id_capacity} IDs (threshold {threshold}); draining",
        state=DrainState(pod=node.pod, pod_uid=node.uid, started_at=now, ip=node.ip, ids_used=node.ids_used),
    )


def _blocked(node: NodeObservation, why: str) -> Decision:
    return Decision(action=BLOCKED, reason="RestartBlocked", message=f"node {node.pod} needs a restart, but {why}")
