"""``kubectl jqm status [CLUSTER]``: nodes, queues, conditions and recent Events of a JqmCluster.

Node figures come from each node's ``/node/status`` (management port); a node that does not answer
shows what the operator last recorded in ``status.nodes``. Queue figures are the client API's queue
list and status, plus running and waiting jobs summed over every node's ``/metrics``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from typing import Any

from jqm_client import JqmError
from jqm_kubectl.access import ClusterAccess
from jqm_kubectl.context import Context
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.kube import Pod, event_time
from jqm_kubectl.output import age, document, table, usage_bar

EVENTS_SHOWN = 10
NODE_FIELDS = ("idsUsed", "idCapacity", "draining", "running", "queued")
_JOBS_METRIC = re.compile(r'^jqm_jobs\{queue="((?:[^"\\]|\\.)*)",state="([A-Z_]+)"\}\s+(\d+)', re.MULTILINE)
RUNNING_STATES = frozenset({"RUNNING", "ATTRIBUTED"})
WAITING_STATES = frozenset({"SUBMITTED", "HOLDED", "SCHEDULED"})


def jobs_by_queue(metrics_texts: Iterable[str]) -> dict[str, dict[str, int]]:
    """``{queue: {"running": n, "waiting": n}}`` summed over the nodes' Prometheus texts."""
    totals: dict[str, dict[str, int]] = {}
    for text in metrics_texts:
        for queue, state, count in _JOBS_METRIC.findall(text):
            name = queue.replace('\\"', '"').replace("\\\\", "\\")
            entry = totals.setdefault(name, {"running": 0, "waiting": 0})
            if state in RUNNING_STATES:
                entry["running"] += int(count)
            elif state in WAITING_STATES:
                entry["waiting"] += int(count)
    return totals


def _node_entry(access: ClusterAccess, pod: Pod, recorded: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"pod": pod.name, "ip": pod.ip, "ready": pod.ready, "phase": pod.phase}
    try:
        live = access.node_status(pod)
        entry.update({k: live.get(k) for k in NODE_FIELDS}, source="node")
    except (PluginError, JqmError) as e:
        entry["source"] = "operator" if recorded else "none"
        entry.update({k: recorded.get(k) for k in NODE_FIELDS if k in recorded})
        entry["error"] = e.message if isinstance(e, PluginError) else str(e)
    return entry


def _queues(access: ClusterAccess, metrics: list[str]) -> tuple[list[dict[str, Any]], str | None]:
    """The queue rows, or an explanation of why the client API could not be read."""
    counts = jobs_by_queue(metrics)
    try:
        with access.client() as jqm:
            rows = [
                {
                    "name": q.name,
                    "description": q.description,
                    "status": jqm.queue_status(q.id).value,
                    "slotsPerNode": jqm.queue_capacity(q.id),
                    **counts.get(q.name, {"running": 0, "waiting": 0}),
                }
                for q in jqm.queues()
            ]
        return rows, None
    except (PluginError, JqmError) as e:
        return [], e.message if isinstance(e, PluginError) else str(e)


def gather(access: ClusterAccess) -> dict[str, Any]:
    status = access.cluster.get("status") or {}
    recorded = {n.get("pod"): n for n in status.get("nodes") or []}
    nodes = [_node_entry(access, pod, recorded.get(pod.name) or {}) for pod in access.pods]
    metrics = []
    for pod in access.pods:
        if any(n["pod"] == pod.name and n["source"] == "node" for n in nodes):
            try:
                metrics.append(access.management(pod, "/metrics").decode("utf-8", "replace"))
            except (PluginError, JqmError):
                continue  # its queue figures are missing; the node row already says it is unreachable
    queues, queue_error = _queues(access, metrics)
    spec = access.cluster.get("spec") or {}
    return {
        "cluster": access.name,
        "namespace": access.session.namespace,
        "replicas": spec.get("replicas"),
        "readyReplicas": status.get("readyReplicas", 0),
        "nodes": nodes,
        "queues": queues,
        "queuesError": queue_error,
        "conditions": status.get("conditions") or [],
        "events": [
            {
                "lastSeen": event_time(e),
                "type": e.get("type"),
                "reason": e.get("reason"),
                "count": e.get("count") or 1,
                "message": e.get("message"),
            }
            for e in access.session.events(access.name, limit=EVENTS_SHOWN)
        ],
    }


def render(data: dict[str, Any]) -> str:
    parts = [
        f"JqmCluster {data['cluster']} (namespace {data['namespace']}): "
        f"{data['readyReplicas']}/{data['replicas']} nodes ready\n"
    ]
    node_rows = []
    for n in data["nodes"]:
        ids = usage_bar(n["idsUsed"], n["idCapacity"]) if n.get("idCapacity") is not None else None
        note = n.get("error") and f"{'operator figures; ' if n['source'] == 'operator' else ''}{n['error']}"
        node_rows.append(
            (n["pod"], n["ip"], "yes" if n["ready"] else "no", ids, n.get("running"), n.get("queued"),
             {True: "yes", False: "no"}.get(n.get("draining")), note or "")
        )  # fmt: skip
    parts.append(
        "\nNODES\n" + table(["POD", "IP", "READY", "IDS USED", "RUNNING", "QUEUED", "DRAINING", ""], node_rows)
    )
    if data["queuesError"]:
        parts.append(f"\nQUEUES\ncannot read the queues: {data['queuesError']}\n")
    else:
        rows = [
            (q["name"], q["status"], q["slotsPerNode"], q["running"], q["waiting"], q["description"])
            for q in data["queues"]
        ]
        parts.append("\nQUEUES\n" + table(["NAME", "STATUS", "SLOTS/NODE", "RUNNING", "WAITING", "DESCRIPTION"], rows))
    conditions = [
        (c.get("type"), c.get("status"), c.get("reason"), age(c.get("lastTransitionTime")), c.get("message"))
        for c in data["conditions"]
    ]
    parts.append("\nCONDITIONS\n" + table(["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"], conditions))
    events = [(age(e["lastSeen"]), e["type"], e["reason"], e["count"], e["message"]) for e in data["events"]]
    parts.append(
        "\nEVENTS\n" + (table(["LAST SEEN", "TYPE", "REASON", "COUNT", "MESSAGE"], events) if events else "none\n")
    )
    return "".join(parts)


def _summary(clusters: list[dict[str, Any]]) -> str:
    rows = []
    for item in clusters:
        status = item.get("status") or {}
        spec = item.get("spec") or {}
        usage = status.get("highestIdUsagePercent")
        rows.append(
            (item["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas')}",
             f"{usage}%" if usage is not None else None, age(item["metadata"].get("creationTimestamp")))
        )  # fmt: skip
    return table(["NAME", "READY", "ID-USAGE", "AGE"], rows)


def status(ctx: Context, args: argparse.Namespace) -> Exit:
    name = args.cluster
    if name is None:
        clusters = ctx.list_clusters()
        if not clusters:
            raise PluginError(f"no JqmCluster in namespace {ctx.namespace!r}", Exit.NOT_FOUND)
        if len(clusters) > 1:
            if args.output != "table":
                ctx.out.write(document([c["metadata"]["name"] for c in clusters], args.output))
            else:
                ctx.out.write(_summary(clusters))
                ctx.note("several JqmClusters: kubectl jqm status NAME shows one")
            return Exit.OK
        name = clusters[0]["metadata"]["name"]
    data = gather(ctx.open_cluster(name))
    ctx.out.write(document(data, args.output) if args.output != "table" else render(data))
    return Exit.OK
