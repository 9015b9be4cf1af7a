"""In-memory stand-ins for the Kubernetes API and the node API, recording every call."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jqm_operator.ports import NodeUnreachable


class FakeClusterApi:
    """Objects keyed by (kind, namespace, name); apply replaces, like a single field manager would."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pods: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.status_patches: list[dict[str, Any]] = []
        self.evictions: list[str] = []
        self.refuse_eviction = False
        self.cluster_status: dict[str, Any] = {}

    def apply(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        self.calls.append(("apply", f"{manifest['kind']}/{meta['name']}"))
        self.objects[(manifest["kind"], meta["namespace"], meta["name"])] = copy.deepcopy(dict(manifest))

    def delete_if_exists(self, *, kind: str, namespace: str, name: str) -> bool:
        self.calls.append(("delete", f"{kind}/{name}"))
        return self.objects.pop((kind, namespace, name), None) is not None

    def get(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list_pods(self, *, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(p)
            for p in self.pods
            if p["metadata"]["namespace"] == namespace
            and all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())
        ]

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        self.calls.append(("evict", name))
        if self.refuse_eviction:
            return False
        self.evictions.append(name)
        for pod in self.pods:
            if pod["metadata"]["name"] == name and pod["metadata"]["uid"] == uid:
                pod["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
        return True

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.cluster_status)

    def patch_cluster_status(self, *, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.calls.append(("status", name))
        self.status_patches.append(copy.deepcopy(dict(status)))
        _merge(self.cluster_status, status)


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """JSON merge patch (RFC 7386), as the API server applies it: None deletes, mappings merge."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeNodeApi:
    """Node statuses keyed by pod name; a pod absent from ``statuses`` is unreachable."""

    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, Any]] = {}
        self.drains: list[str] = []

    def status(self, *, namespace: str, pod: str, ip: str) -> dict[str, Any]:
        if pod not in self.statuses:
            raise NodeUnreachable(pod)
        return dict(self.statuses[pod])

    def drain(self, *, namespace: str, pod: str, ip: str) -> None:
        if pod not in self.statuses:
            raise NodeUnreachable(pod)
        self.drains.append(pod)
        self.statuses[pod]["draining"] = True


def pod(
    name: str,
    *,
    uid: str | None = None,
    ip: str = "10.1.0.1",
    ready: bool = True,
    cluster: str = "demo",
    namespace: str = "ns",
) -> dict[str, Any]:
    """A running node pod of ``cluster``, as the API returns it."""
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{name}",
            "labels": {"app.kubernetes.io/name": "jqm-node", "app.kubernetes.io/instance": cluster},
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def node_status(
    *, used: int, capacity: int = 1_000_000, draining: bool = False, running: int = 0, queued: int = 0
) -> dict[str, Any]:
    """A ``/node/status`` answer."""
    return {
        "ip": "10.1.0.1",
        "name": "n",
        "idsUsed": used,
        "idCapacity": capacity,
        "idsRemaining": capacity - used,
        "draining": draining,
        "running": running,
        "queued": queued,
    }
