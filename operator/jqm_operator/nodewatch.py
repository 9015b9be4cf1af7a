"""What the node timer sees: every node pod, with its ``/node/status`` (management port) when it answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders import Owner
from jqm_operator.decisions.observation import NodeObservation, handovers_of
from jqm_operator.model import ClusterSpec
from jqm_operator.ports import NodeApi, NodeRef, NodeUnreachable


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _cost(meta: Mapping[str, Any]) -> int | None:
    try:
        return int((meta.get("annotations") or {})[c.DELETION_COST_ANNOTATION])
    except (KeyError, TypeError, ValueError):
        return None


def node_ref(*, owner: Owner, spec: ClusterSpec, pod: str, ip: str | None) -> NodeRef:
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
                answer = nodes.status(node_ref(owner=owner, spec=spec, pod=base.pod, ip=base.ip))
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
