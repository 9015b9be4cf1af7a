"""The body that replaces a child whose server-side apply the API server refuses (a hand edit that cannot
be merged with the operator's fields, e.g. a Service port renamed into a duplicate).

The operator's manifest, made to fit the live object: its resourceVersion (the replacement fails rather
than overwrite a newer change), the values the API server allocated and will not change (a Service's
cluster IPs, node ports), and what other controllers keep there (labels, annotations and finalizers of
other managers, e.g. a cloud load balancer's cleanup finalizer).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

SERVICE_ALLOCATED = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort")


def _service_spec(desired: dict[str, Any], live: Mapping[str, Any]) -> None:
    spec = desired.setdefault("spec", {})
    for key in SERVICE_ALLOCATED:
        if key in live and key not in spec:
            spec[key] = copy.deepcopy(live[key])
    node_ports = {p.get("name"): p.get("nodePort") for p in live.get("ports") or [] if p.get("nodePort")}
    if spec.get("type", "ClusterIP") in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports") or []:
            if port.get("name") in node_ports and "nodePort" not in port:
                port["nodePort"] = node_ports[port["name"]]


def replacement(*, manifest: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` ready for a PUT over ``live``."""
    desired = copy.deepcopy(dict(manifest))
    meta, live_meta = desired["metadata"], live.get("metadata") or {}
    meta["resourceVersion"] = live_meta.get("resourceVersion")
    meta["labels"] = {**(live_meta.get("labels") or {}), **(meta.get("labels") or {})}
    annotations = {**(live_meta.get("annotations") or {}), **(meta.get("annotations") or {})}
    if annotations:
        meta["annotations"] = annotations
    if live_meta.get("finalizers"):
        meta["finalizers"] = list(live_meta["finalizers"])
    if desired.get("kind") == "Service":
        _service_spec(desired, live.get("spec") or {})
    return desired
