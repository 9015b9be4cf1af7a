"""Figures on the local cluster: ``kubectl apply`` of a 4-replica JqmCluster to Available (real
containers), the operator's reaction time to a spec change, the operator's resident memory, and the
whole cluster's resident memory at rest (every process in its cgroups: control plane, containerd and
its shims, kubelet, kube-proxy, load balancers, and every container).

Needs the cluster up (``make up``; the operator chart installed). Each run uses a fresh namespace.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench.servers import rss_bytes
from jqm_localcluster import layout, procs

KUBECONFIG = layout.StateDir.default().admin_kubeconfig
KUBECTL = str(layout.Binaries.from_cache().kubectl)
REPLICAS = 4
LIMIT_SECONDS = 180


def kubectl(*args: str, stdin: str | None = None) -> str:
    command = [KUBECTL, "--kubeconfig", str(KUBECONFIG), *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=True, timeout=120).stdout


def _cluster(namespace: str) -> dict[str, Any]:
    return json.loads(kubectl("get", "jqmcluster", "bench", "-n", namespace, "-o", "json"))


def _available(cluster: dict[str, Any]) -> bool:
    status = cluster.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    return conditions.get("Available") == "True" and status.get("readyReplicas") == REPLICAS


def _wait(what: str, check: Any) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < LIMIT_SECONDS:
        if check():
            return time.perf_counter() - start
        time.sleep(0.05)
    raise TimeoutError(what)


def operator_rss_mib() -> float:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"jqm_operator" in command and b"pytest" not in command:
                return rss_bytes(int(proc.name)) / 2**20
    raise RuntimeError("no operator process found: is the chart installed (make up)?")


def cluster_rss_mib() -> tuple[float, int]:
    """Summed VmRSS of every process in the local cluster's cgroup tree, and how many there are."""
    root = procs.tracking_root()
    if root is None:
        raise RuntimeError("no cgroup tree to find the cluster's processes in")
    pids: set[int] = set()
    for listing in (root / procs.CGROUP_PARENT).rglob("cgroup.procs"):
        pids.update(int(p) for p in listing.read_text().split())
    total = 0
    for pid in pids:
        try:
            total += rss_bytes(pid)
        except (OSError, RuntimeError):
            continue  # gone meanwhile, or a kernel thread
    return total / 2**20, len(pids)


def run() -> dict[str, float]:
    if not KUBECONFIG.exists():
        raise RuntimeError("the local cluster is not up: run make up first")
    at_rest_mib, processes = cluster_rss_mib()
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", namespace)
    body = {
        "apiVersion": "jqm.enioka-community.io/v1alpha1",
        "kind": "JqmCluster",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": {"replicas": REPLICAS, "image": "jqm-node:latest",
                 "jobDefinitions": [{"name": "T", "path": "true"}]},
    }  # fmt: skip
    try:
        start = time.perf_counter()
        kubectl("apply", "-f", "-", stdin=json.dumps(body))
        _wait("Available", lambda: _available(_cluster(namespace)))
        to_available = time.perf_counter() - start
        generation = _cluster(namespace)["metadata"]["generation"]
        kubectl("patch", "jqmcluster", "bench", "-n", namespace, "--type=merge", "-p",
                json.dumps({"spec": {"pod": {"labels": {"bench": uuid.uuid4().hex[:8]}}}}))  # fmt: skip
        reaction = _wait(
            "the operator to observe the change",
            lambda: (_cluster(namespace).get("status") or {}).get("observedGeneration", 0) > generation,
        )
        rss = operator_rss_mib()
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
    return {
        "apply_to_available_s": to_available,
        "spec_change_observed_s": reaction,
        "operator_rss_mib": rss,
        "cluster_rss_mib": at_rest_mib,
        "cluster_processes": processes,
    }
