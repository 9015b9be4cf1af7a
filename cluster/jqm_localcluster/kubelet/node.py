"""The Node object of this kubelet: registration, status, and the Lease heartbeat."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from jqm_localcluster import layout
from jqm_localcluster.api import Api, ApiError
from jqm_localcluster.kubelet.status import now

Obj = dict[str, Any]
LEASE_SECONDS = 40
KUBELET_PORT = 10250  # the log server, on the bridge address
MAX_PODS = 110


def _memory_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def resources() -> dict[str, str]:
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{_memory_kib()}Ki", "pods": str(MAX_PODS)}


def node_object(name: str, version: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "jqm-process",
            },
        },
        "spec": {"podCIDR": layout.POD_CIDR, "podCIDRs": [layout.POD_CIDR]},
        "status": node_status(name, version, ready=True, since=now()),
    }


def node_status(name: str, version: str, ready: bool, since: str) -> Obj:
    heartbeat = now()
    ok = {"lastHeartbeatTime": heartbeat, "lastTransitionTime": since}
    conditions = [
        {"type": kind, "status": "False", "reason": f"KubeletHas{reason}", **ok}
        for kind, reason in (
            ("MemoryPressure", "SufficientMemory"),
            ("DiskPressure", "NoDiskPressure"),
            ("PIDPressure", "SufficientPID"),
        )
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady",
            "message": "process kubelet is posting ready status",
            **ok,
        }
    )
    uname = platform.uname()
    return {
        "capacity": resources(),
        "allocatable": resources(),
        "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": layout.BRIDGE_IP}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": uname.release,
            "osImage": "local processes",
            "containerRuntimeVersion": "jqm-process://0.1.0",
            "kubeletVersion": version,
            "kubeProxyVersion": version,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def microtime() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeRegistration:
    def __init__(self, api: Api, name: str, version: str) -> None:
        self.api, self.name, self.version = api, name, version
        self.since = now()

    async def register(self) -> None:
        try:
            await self.api.create("/api/v1/nodes", node_object(self.name, self.version))
        except ApiError as exc:
            if exc.status != 409:
                raise
        await self.post_status()

    async def post_status(self) -> None:
        status = node_status(self.name, self.version, ready=True, since=self.since)
        await self.api.merge_patch(f"/api/v1/nodes/{self.name}/status", {"status": status})

    async def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": microtime()}
        try:
            await self.api.merge_patch(path, {"spec": spec})
        except ApiError as exc:
            if exc.status != 404:
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": "kube-node-lease"},
                "spec": spec,
            }
            await self.api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease)
