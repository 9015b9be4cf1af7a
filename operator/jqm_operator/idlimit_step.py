"""The ID-limit restart step of one node check: ask :mod:`decisions.restart`, act, record.

Order matters for crash safety: a drain is written to the status *before* the node is asked to drain, and
an eviction is recorded right after it succeeds. Whatever point an operator restart interrupts, the next
check finds the record and carries on instead of starting over. The record is read fresh from the API
server at every check, not from the watched body, so a check never acts on a status older than the
previous check's own write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from jqm_operator.builders import Owner, child_names
from jqm_operator.decisions import restart as r
from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.model import ClusterSpec
from jqm_operator.nodewatch import node_ref
from jqm_operator.notes import Note
from jqm_operator.ports import ClusterApi, NodeApi, NodeUnreachable
from jqm_operator.status import timestamp

ID_LIMIT_DRAIN_REASON = "jqm-operator: ID limit"


def _disruptions_allowed(*, api: ClusterApi, owner: Owner) -> int | None:
    pdb = api.get(kind="PodDisruptionBudget", namespace=owner.namespace, name=child_names(owner.name)["pdb"])
    if not pdb:
        return None
    status = pdb.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int((pdb.get("metadata") or {}).get("generation") or 0):
        return None  # the disruption controller has not caught up with the budget yet
    return int(status.get("disruptionsAllowed") or 0)


def id_limit_step(
    *,
    api: ClusterApi,
    nodes: NodeApi,
    owner: Owner,
    spec: ClusterSpec,
    observed: Sequence[NodeObservation],
    id_status: Mapping[str, Any],
    now: datetime,
    notes: list[Note],
) -> tuple[r.Decision, r.DrainState | None]:
    """One ID-limit restart step; returns the decision and the drain recorded afterwards."""
    state = r.DrainState.from_status(id_status.get("drain"))
    decision = r.decide(
        policy=spec.id_limit,
        nodes=observed,
        state=state,
        disruptions_allowed=_disruptions_allowed(api=api, owner=owner),
        desired_replicas=spec.replicas,
        now=now,
    )
    id_limit: dict[str, Any] = {}
    act, new = decision.action, decision.state

    def record(drain: r.DrainState | None) -> None:
        id_limit["drain"] = drain.to_status() if drain else None
        api.patch_cluster_status(namespace=owner.namespace, name=owner.name, status={"idLimit": id_limit})

    def drain(target: r.DrainState) -> None:
        try:
            nodes.drain(node_ref(owner=owner, spec=spec, pod=target.pod, ip=target.ip), reason=ID_LIMIT_DRAIN_REASON)
        except NodeUnreachable as e:
            notes.append(Note(type="Warning", reason="DrainFailed", message=f"{e}; retrying on the next check"))

    if act == r.START_DRAIN and new is not None:
        record(new)  # first the record, then the request: a crash in between resends, never forgets
        notes.append(Note(type="Normal", reason=decision.reason, message=decision.message))
        drain(new)
    elif act == r.RESEND_DRAIN and new is not None:
        drain(new)
    elif act == r.WAIT_DRAIN and new is not None and new != state:
        record(new)
        notes.append(Note(type="Warning", reason=decision.reason, message=decision.message))
    elif act == r.EVICT and new is not None:
        if api.evict_pod(namespace=owner.namespace, name=new.pod, uid=new.pod_uid):
            id_limit["restarts"] = int(id_status.get("restarts") or 0) + 1
            id_limit["lastRestart"] = {"pod": new.pod, "at": timestamp(now), "reason": decision.reason}
            new = replace(new, evicted=True)
            record(new)
            notes.append(Note(type="Normal", reason="NodeRestarted", message=f"{decision.message}; pod evicted"))
        else:
            notes.append(
                Note(
                    type="Warning",
                    reason="EvictionBlocked",
                    message=f"{decision.message}; the PodDisruptionBudget refuses the eviction for now",
                )
            )
    elif act in (r.FINISH, r.ABANDON):
        record(None)
        new = None
        notes.append(
            Note(type="Normal" if act == r.FINISH else "Warning", reason=decision.reason, message=decision.message)
        )
    return decision, new
