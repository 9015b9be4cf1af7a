"""Recovery of nodes drained by someone else (see :mod:`jqm_operator.decisions.drains`): undrain them,
or replace their pod when that fails or does not hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from jqm_operator.builders import Owner
from jqm_operator.decisions import drains as d
from jqm_operator.decisions import restart as r
from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.model import ClusterSpec
from jqm_operator.nodewatch import node_ref
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused, ClusterApi, NodeApi, NodeUnreachable


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


def recover_drains(
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
            nodes.undrain(node_ref(owner=owner, spec=spec, pod=node.pod, ip=node.ip))
        except NodeUnreachable as e:
            replaced = _replace_pod(api=api, owner=owner, node=node, why=f"could not be undrained ({e})", notes=notes)
            kept[node.uid] = replace(kept[node.uid], replaced=replaced)
    for record in plan.recovered:
        how = "its pod was replaced" if record.replaced else "it takes work again"
        notes.append(Note(type="Normal", reason="DrainRecovered", message=f"node {record.pod} recovered: {how}"))
    return list(kept.values())
