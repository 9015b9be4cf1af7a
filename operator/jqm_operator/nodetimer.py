"""The node timer of one cluster: one check reads every node once, then takes the ID-limit restart step,
recovers nodes drained by someone else, turns new handovers into Events, keeps the pods' deletion costs,
and computes the status (``nodes``, ``highestIdUsagePercent``, unexpected drains, conditions). It also
reads the cluster's ID ledger for the operator's metrics (:class:`jqm_operator.metrics.NodeCheck`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders import Owner, child_names, selector_labels
from jqm_operator.decisions import drains as d
from jqm_operator.decisions import handovers as h
from jqm_operator.decisions import restart as r
from jqm_operator.decisions.ledger import LedgerSummary, summarize
from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.idlimit_step import id_limit_step
from jqm_operator.metrics import NodeCheck
from jqm_operator.model import ClusterSpec
from jqm_operator.nodewatch import observe
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused, ClusterApi, NodeApi
from jqm_operator.reconcile import conditions_now
from jqm_operator.recovery import recover_drains
from jqm_operator.status import highest_usage_percent, node_entries

MAX_DELETION_COST = 2**31 - 1


@dataclass(frozen=True, kw_only=True)
class Cycle:
    """The outcome of one check: the ID-limit decision taken, the Events to post, the status to write."""

    decision: r.Decision
    notes: tuple[Note, ...]
    status: dict[str, Any]
    check: NodeCheck
    """What the operator's metrics record of this check."""


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


def _ledger(*, api: ClusterApi, owner: Owner) -> LedgerSummary | None:
    """The cluster's ID ledger summarized; None when it cannot be read (the metrics count that)."""
    try:
        ledger = api.get(kind="ConfigMap", namespace=owner.namespace, name=child_names(owner.name)["ledger"])
    except ApiRefused:
        return None
    return summarize((ledger or {}).get("data")) if ledger is not None else None


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
    decision, drain = id_limit_step(
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
    recoveries = recover_drains(
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
    check = NodeCheck(
        started_drain=decision.action == r.START_DRAIN,
        notes=tuple(notes),
        nodes=len(observed),
        reachable=sum(1 for node in observed if node.reachable),
        node_ips=tuple(node.ip for node in observed if node.ip),
        ledger=_ledger(api=api, owner=owner),
    )
    return Cycle(decision=decision, notes=tuple(notes), status={**written, "conditions": conditions}, check=check)
