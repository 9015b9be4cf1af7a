"""The node timer of one cluster: observe every node, then the ID-limit restart step, the recovery of
nodes drained by someone else, Events for handovers, pod deletion costs, and the status.

Order matters for crash safety: an ID-limit drain is written to the status *before* the node is asked to
drain, and an eviction is recorded right after it succeeds. Whatever point an operator restart interrupts,
the next tick finds the record and carries on instead of starting over. The status is read fresh from the
API server at every tick, not from the watched body, so a tick never acts on a status older than the
previous tick's own write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders import Owner, child_names, selector_labels
from jqm_operator.decisions import drains as d
from jqm_operator.decisions import handovers as h
from jqm_operator.decisions import restart as r
from jqm_operator.decisions.observation import NodeObservation, handovers_of
from jqm_operator.model import ClusterSpec
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused, ClusterApi, NodeApi, NodeRef, NodeUnreachable
from jqm_operator.reconcile import conditions_now
from jqm_operator.status import highest_usage_percent, node_entries, timestamp

ID_LIMIT_DRAIN_REASON = "jqm-operator: ID limit"
MAX_DELETION_COST = 2**31 - 1


@dataclass(frozen=True, kw_only=True)
class Cycle:
    """The outcome of one tick: the ID-limit decision taken, the Events to post, the status to write."""

    decision: r.Decision
    notes: tuple[Note, ...]
    status: dict[str, Any]


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _cost(meta: Mapping[str, Any]) -> int | None:
    try:
        return int((meta.get("annotations") or {})[c.DELETION_COST_ANNOTATION])
    except (KeyError, TypeError, ValueError):
        return None


def _ref(*, owner: Owner, spec: ClusterSpec, pod: str, ip: str | None) -> NodeRef:
    return NodeRef(
        namespace=owner.namespace, cluster=owner.name, pod=pod, ip=ip or "", tls=bool(spec.auth.tls_secret_name)
    )


def observe(
    *, nodes: NodeApi, owner: Owner, spec: ClusterSpec, pods: Sequence[Mapping[str, Any]]
) -> list[NodeObservation]:
    """Every node pod of the cluster, with its ``/node/status`` when it answers."""
    observations = []
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        base = NodeObservation(
            pod=meta.get("name", ""),
            uid=meta.get("uid", ""),
            ip=status.get("podIP"),
            ready=_ready(pod),
            terminating=bool(meta.get("deletionTimestamp")),
            deletion_cost=_cost(meta),
        )
        if base.ip and status.get("phase") == "Running":
            try:
                answer = nodes.status(_ref(owner=owner, spec=spec, pod=base.pod, ip=base.ip))
            except NodeUnreachable:
                answer = None
            if answer is not None:
                base = replace(
                    base,
                    reachable=True,
                    ids_used=int(answer.get("idsUsed") or 0),
                    id_capacity=int(answer.get("idCapacity") or 0),
                    draining=bool(answer.get("draining")),
                    drain_reason=answer.get("drainReason"),
                    stopping=bool(answer.get("stopping")),
                    accepting=bool(answer.get("accepting")),
                    running=int(answer.get("running") or 0),
                    queued=int(answer.get("queued") or 0),
                    handovers=handovers_of(answer),
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


def _id_limit_step(
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
            nodes.drain(_ref(owner=owner, spec=spec, pod=target.pod, ip=target.ip), reason=ID_LIMIT_DRAIN_REASON)
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


def _replace_pod(*, api: ClusterApi, owner: Owner, node: NodeObservation, why: str, notes: list[Note]) -> bool:
    """Deletes a drained node's pod (with its grace period) so that the Deployment replaces it."""
    try:
        api.delete_pod(namespace=owner.namespace, name=node.pod, uid=node.uid)
    except ApiRefused as e:
        notes.append(
            Note(
                type="Warning",
                reason="DrainedNodeNotReplaced",
                message=f"node {node.pod} {why}, but deleting its pod failed ({e}); retrying on the next check",
            )
        )
        return False
    notes.append(
        Note(
            type="Warning",
            reason="DrainedNodeReplaced",
            message=(
                f"node {node.pod} {why}; its pod is deleted, the Deployment starts a replacement now and the "
                "drained node finishes its jobs meanwhile"
            ),
        )
    )
    return True


def _recover_drains(
    *,
    api: ClusterApi,
    nodes: NodeApi,
    owner: Owner,
    spec: ClusterSpec,
    observed: Sequence[NodeObservation],
    records: Sequence[d.Recovery],
    operator_drain: r.DrainState | None,
    now: datetime,
    notes: list[Note],
) -> list[d.Recovery]:
    """Undrains (or replaces) nodes drained by someone else; returns ``status.unexpectedDrains``."""
    plan = d.plan(
        nodes=observed, records=records, operator_drain_uid=operator_drain.pod_uid if operator_drain else None, now=now
    )
    kept = {record.pod_uid: record for record in plan.records}
    for step in plan.steps:
        node = step.node
        if step.action == d.REPLACE:
            replaced = _replace_pod(
                api=api, owner=owner, node=node, why="was still draining after its undrain", notes=notes
            )
            kept[node.uid] = replace(kept[node.uid], replaced=replaced)
            continue
        notes.append(
            Note(
                type="Warning",
                reason="UnexpectedDrain",
                message=(
                    f"node {node.pod} is draining (reason {d.shown_reason(node.drain_reason)}) but the operator did "
                    "not drain it; undraining it"
                ),
            )
        )
        try:
            nodes.undrain(_ref(owner=owner, spec=spec, pod=node.pod, ip=node.ip))
        except NodeUnreachable as e:
            replaced = _replace_pod(api=api, owner=owner, node=node, why=f"could not be undrained ({e})", notes=notes)
            kept[node.uid] = replace(kept[node.uid], replaced=replaced)
    for record in plan.recovered:
        how = "its pod was replaced" if record.replaced else "it takes work again"
        notes.append(Note(type="Normal", reason="DrainRecovered", message=f"node {record.pod} recovered: {how}"))
    return list(kept.values())


def _handover_notes(new: Sequence[h.NewHandover]) -> list[Note]:
    notes = []
    for item in new:
        ho = item.handover
        message = f"node {item.pod} took over the history of {ho.jobs} jobs from node {ho.from_ip} (left at {ho.at})"
        if ho.not_run:
            message += f"; {ho.not_run} of them never ran (the leaving node's shutdown grace ran out)"
            notes.append(Note(type="Warning", reason="JobsNotRun", message=message))
        else:
            notes.append(Note(type="Normal", reason="HistoryHandedOver", message=message))
    return notes


def _deletion_costs(*, api: ClusterApi, owner: Owner, observed: Sequence[NodeObservation]) -> list[Note]:
    """Keeps each node pod's deletion cost at its running + queued jobs: a scale-down removes the idlest."""
    failures = []
    for node in observed:
        if not node.reachable or node.terminating:
            continue
        cost = min(node.running + node.queued, MAX_DELETION_COST)
        if cost != node.deletion_cost:
            patch = {"metadata": {"annotations": {c.DELETION_COST_ANNOTATION: str(cost)}}}
            try:
                api.merge_patch(kind="Pod", namespace=owner.namespace, name=node.pod, patch=patch)
            except ApiRefused as e:
                if e.status != 404:  # a pod gone since it was listed needs no cost
                    failures.append(f"{node.pod}: {e}")
    if not failures:
        return []
    message = f"pod deletion costs not updated ({'; '.join(failures)}): a scale-down may stop busy nodes first"
    return [Note(type="Warning", reason="DeletionCostFailed", message=message)]


def run_cycle(
    *,
    api: ClusterApi,
    nodes: NodeApi,
    owner: Owner,
    spec: ClusterSpec,
    now: datetime,
) -> Cycle:
    """One tick for one cluster."""
    status = api.get_cluster_status(namespace=owner.namespace, name=owner.name)
    pods = api.list_pods(namespace=owner.namespace, labels=selector_labels(owner.name))
    observed = observe(nodes=nodes, owner=owner, spec=spec, pods=pods)
    notes: list[Note] = []
    decision, drain = _id_limit_step(
        api=api,
        nodes=nodes,
        owner=owner,
        spec=spec,
        observed=observed,
        id_status=status.get("idLimit") or {},
        now=now,
        notes=notes,
    )
    records = [x for x in map(d.Recovery.from_status, status.get("unexpectedDrains") or []) if x is not None]
    recoveries = _recover_drains(
        api=api,
        nodes=nodes,
        owner=owner,
        spec=spec,
        observed=observed,
        records=records,
        operator_drain=drain,
        now=now,
        notes=notes,
    )
    new_handovers, posted = h.find_new(nodes=observed, posted=h.posted_from_status(status.get("postedHandovers")))
    notes += _handover_notes(new_handovers)
    notes += _deletion_costs(api=api, owner=owner, observed=observed)
    written = {
        "nodes": node_entries(observed),
        "highestIdUsagePercent": highest_usage_percent(observed),
        "unexpectedDrains": [record.to_status() for record in recoveries] or None,
        "postedHandovers": posted or None,
    }
    _, conditions = conditions_now(
        api=api,
        owner=owner,
        desired=spec.replicas,
        status={**status, **written},
        generation=int(status.get("observedGeneration") or 0),
        now=now,
        pods=pods,
    )
    return Cycle(decision=decision, notes=tuple(notes), status={**written, "conditions": conditions})
