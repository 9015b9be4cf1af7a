"""In-memory stand-ins for the Kubernetes API and the node API, recording every call."""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Mapping
from typing import Any

from jqm_operator.ports import ApiRefused, NodeRef, NodeUnreachable

_versions = itertools.count(1)


def _stored(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What the API server keeps: Secret ``stringData`` folded into base64 ``data``, a resourceVersion."""
    obj = copy.deepcopy(dict(manifest))
    if obj.get("kind") == "Secret" and "stringData" in obj:
        data = obj.setdefault("data", {})
        for key, value in obj.pop("stringData").items():
            data[key] = base64.b64encode(value.encode()).decode()
    obj["metadata"]["resourceVersion"] = str(next(_versions))
    return obj


class FakeClusterApi:
    """Objects keyed by (kind, namespace, name); apply replaces, like a single field manager would.

    ``refuse_apply`` maps (kind, name) to the status the next applies of that child are refused with.
    """

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pods: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.status_patches: list[dict[str, Any]] = []
        self.evictions: list[str] = []
        self.deleted_pods: list[str] = []
        self.refuse_eviction = False
        self.refuse_apply: dict[tuple[str, str], int] = {}
        self.refuse_replace: set[tuple[str, str]] = set()
        self.refuse_pod_writes = 0
        """An HTTP status (e.g. 403) for pod patches and deletions; 0 lets them through."""
        self.cluster_status: dict[str, Any] = {}
        self.cluster_spec: dict[str, Any] = {}

    def apply(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        self.calls.append(("apply", f"{manifest['kind']}/{meta['name']}"))
        refused = self.refuse_apply.get((manifest["kind"], meta["name"]))
        if refused:
            raise ApiRefused(status=refused, message=f"{manifest['kind']} {meta['name']} is invalid")
        key = (manifest["kind"], meta["namespace"], meta["name"])
        merged = _stored(manifest)
        if key in self.objects and "data" in self.objects[key] and "data" not in manifest:
            merged["data"] = copy.deepcopy(self.objects[key]["data"])  # fields of another manager stay
        self.objects[key] = merged

    def replace(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        self.calls.append(("replace", f"{manifest['kind']}/{meta['name']}"))
        if (manifest["kind"], meta["name"]) in self.refuse_replace:
            raise ApiRefused(status=422, message="immutable")
        self.refuse_apply.pop((manifest["kind"], meta["name"]), None)  # the hand edit is gone
        self.objects[(manifest["kind"], meta["namespace"], meta["name"])] = _stored(manifest)

    def create(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        key = (manifest["kind"], meta["namespace"], meta["name"])
        self.calls.append(("create", f"{manifest['kind']}/{meta['name']}"))
        if key in self.objects:
            raise ApiRefused(status=409, message="already exists")
        obj = _stored(manifest)
        obj["metadata"]["uid"] = f"uid-{meta['name']}-{obj['metadata']['resourceVersion']}"
        self.objects[key] = obj

    def merge_patch(self, *, kind: str, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        self.calls.append(("patch", f"{kind}/{name}"))
        if kind == "Pod" and self.refuse_pod_writes:
            raise ApiRefused(status=self.refuse_pod_writes, message="pods is forbidden")
        if kind == "Pod":
            target = next((p for p in self.pods if p["metadata"]["name"] == name), None)
        else:
            target = self.objects.get((kind, namespace, name))
        if target is None:
            raise ApiRefused(status=404, message="not found")
        _merge(target, patch)
        if kind == "Secret":
            self.objects[(kind, namespace, name)] = _stored(target)

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

    def _terminate(self, name: str, uid: str) -> bool:
        for pod in self.pods:
            if pod["metadata"]["name"] == name and pod["metadata"]["uid"] == uid:
                pod["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
                return True
        return False

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        self.calls.append(("evict", name))
        if self.refuse_eviction:
            return False
        self.evictions.append(name)
        self._terminate(name, uid)
        return True

    def delete_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        self.calls.append(("delete-pod", name))
        if self.refuse_pod_writes:
            raise ApiRefused(status=self.refuse_pod_writes, message="pods is forbidden")
        self.deleted_pods.append(name)
        return self._terminate(name, uid)

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.cluster_status)

    def read_cluster(self, *, namespace: str, name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
                "spec": copy.deepcopy(self.cluster_spec), "status": copy.deepcopy(self.cluster_status)}  # fmt: skip

    def patch_cluster_status(
        self, *, namespace: str, name: str, status: Mapping[str, Any], resource_version: str | None = None
    ) -> None:
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
    """Node statuses keyed by pod name; a pod absent from ``statuses`` is unreachable.

    ``refuse_undrain`` makes undrain calls fail as a node refusing them would.
    """

    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, Any]] = {}
        self.drains: list[str] = []
        self.drain_reasons: list[str] = []
        self.undrains: list[str] = []
        self.refuse_undrain = False
        self.targets: list[NodeRef] = []

    def status(self, node: NodeRef) -> dict[str, Any]:
        self.targets.append(node)
        if node.pod not in self.statuses:
            raise NodeUnreachable(node.pod)
        return dict(self.statuses[node.pod])

    def drain(self, node: NodeRef, *, reason: str) -> None:
        if node.pod not in self.statuses:
            raise NodeUnreachable(node.pod)
        self.drains.append(node.pod)
        self.drain_reasons.append(reason)
        self.statuses[node.pod] |= {"draining": True, "drainReason": reason}

    def undrain(self, node: NodeRef) -> None:
        if node.pod not in self.statuses or self.refuse_undrain:
            raise NodeUnreachable(f"POST /node/undrain on {node.pod}: HTTP 409 stopping")
        self.undrains.append(node.pod)
        self.statuses[node.pod] |= {"draining": False, "drainReason": None}


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
        "drainReason": None,
        "stopping": False,
        "running": running,
        "queued": queued,
        "handovers": [],
    }
