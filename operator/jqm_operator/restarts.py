"""The ID-limit restart cycle of one cluster: observe nodes, ask :mod:`decisions.restart`, act, record.

Order matters for crash safety: a drain is written to the status *before* the node is asked to drain, and
an eviction is recorded right after it succeeds. Whatever point an operator restart interrupts, the next
tick finds the record (or a node reporting ``draining``) and carries on instead of starting over. The
record is read fresh from the API server at every tick, not from the watched body, so a tick never acts
on a status older than the previous tick's own write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jqm_operator.builders import Owner, child_names, selector_labels
from jqm_operator.decisions import restart as r
from jqm_operator.model import ClusterSpec
from jqm_operator.ports import ClusterApi, NodeApi, NodeUnreachable
from jqm_operator.reconcile import Note
from jqm_operator.status import highest_usage_percent, node_entries, timestamp


@dataclass(frozen=True, kw_only=True)
class Cycle:
    """The outcome of one tick: the decision taken, the Events to post, the status written."""

    decision: r.Decision
    notes: tuple[Note, ...]
    status: dict[str, Any]


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def observe(*, api: ClusterApi, nodes: NodeApi, owner: Owner) -> list[r.NodeObservation]:
    """Every node pod of the cluster, with its ``/node/status`` when it answers."""
    observations = []
    for pod in api.list_pods(namespace=owner.namespace, labels=selector_labels(owner.name)):
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        base = r.NodeObservation(
            pod=meta.get("name", ""),
            uid=meta.get("uid", ""),
            ip=status.get("podIP"),
            ready=_ready(pod),
            terminating=bool(meta.get("deletionTimestamp")),
        )
        if base.ip and status.get("phase") == "Running":
            try:
                answer = nodes.status(namespace=owner.namespace, pod=base.pod, ip=base.ip)
            except NodeUnreachable:
                answer = None
            if answer is not None:
                base = replace(
                    base,
                    reachable=True,
                    ids_used=int(answer.get("idsUsed") or 0),
                    id_capacity=int(answer.get("idCapacity") or 0),
                    draining=bool(answer.get("draining")),
                    accepting=bool(answer.get("accepting")),
                    running=int(answer.get("running") or 0),
                    queued=int(answer.get("queued") or 0),
                )
        observations.append(base)
    return observations


def _disruptions_allowed(*, api: ClusterApi, owner: Owner) -> int | None:
    pdb = api.get(kind="PodDisruptionBudget", namespace=owner.namespace, name=child_names(owner.name)["pdb"])
    if not pdb:
        return None
    status = pdb.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int((pdb.get("metadata") or {}).get("generation") or 0):
        return None  # the disruption controller has not caught up with the budget yet
    return int(status.get("disruptionsAllowed") or 0)


def run_cycle(
    *,
    api: ClusterApi,
    nodes: NodeApi,
    owner: Owner,
    spec: ClusterSpec,
    now: datetime,
) -> Cycle:
    """One tick for one cluster."""
    id_status = api.get_cluster_status(namespace=owner.namespace, name=owner.name).get("idLimit") or {}
    observed = observe(api=api, nodes=nodes, owner=owner)
    state = r.DrainState.from_status(id_status.get("drain"))
    decision = r.decide(
        policy=spec.id_limit,
        nodes=observed,
        state=state,
        disruptions_allowed=_disruptions_allowed(api=api, owner=owner),
        desired_replicas=spec.replicas,
        now=now,
    )
    notes: list[Note] = []
    id_limit: dict[str, Any] = {}
    act = decision.action
    new = decision.state

    def record(drain: r.DrainState | None) -> None:
        id_limit["drain"] = drain.to_status() if drain else None
        api.patch_cluster_status(namespace=owner.namespace, name=owner.name, status={"idLimit": id_limit})

    if act == r.START_DRAIN and new is not None:
        record(new)  # first the record, then the request: a crash in between resends, never forgets
        notes.append(Note(type="Normal", reason=decision.reason, message=decision.message))
        _drain(nodes=nodes, owner=owner, state=new, notes=notes)
    elif act == r.RESEND_DRAIN and new is not None:
        _drain(nodes=nodes, owner=owner, state=new, notes=notes)
    elif act == r.WAIT_DRAIN and new is not None and new != state:
        record(new)
        notes.append(Note(type="Warning", reason=decision.reason, message=decision.message))
    elif act == r.EVICT and new is not None:
        if api.evict_pod(namespace=owner.namespace, name=new.pod, uid=new.pod_uid):
            id_limit["restarts"] = int(id_status.get("restarts") or 0) + 1
            id_limit["lastRestart"] = {"pod": new.pod, "at": timestamp(now), "reason": decision.reason}
            record(replace(new, evicted=True))
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
        notes.append(
            Note(type="Normal" if act == r.FINISH else "Warning", reason=decision.reason, message=decision.message)
        )
    status = {"nodes": node_entries(observed), "highestIdUsagePercent": highest_usage_percent(observed)}
    return Cycle(decision=decision, notes=tuple(notes), status=status)


def _drain(*, nodes: NodeApi, owner: Owner, state: r.DrainState, notes: list[Note]) -> None:
    try:
        nodes.drain(namespace=owner.namespace, pod=state.pod, ip=state.ip or "")
    except NodeUnreachable as e:
        notes.append(Note(type="Warning", reason="DrainFailed", message=f"{e}; retrying on the next check"))
