"""A container's environment: env, envFrom, downward API, service variables, $(VAR) expansion."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]
# (kind, name) -> decoded data, for the ConfigMaps and Secrets a pod refers to.
Lookups = Mapping[tuple[str, str], Mapping[str, str]]

_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "m": 1e-3,
    "": 1,
}


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known variables replaced, $$ escapes, unknown ones left as they are."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR.sub(repl, text)


def quantity(value: str | int | float) -> float:
    """A resource quantity ("500m", "1Gi", "2") as a number."""
    text = str(value)
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    if m is None or m.group(2) not in _SUFFIX:
        raise ValueError(f"bad quantity {text!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def field_ref(pod: Obj, path: str) -> str:
    """The value of a downward-API fieldRef on a pod."""
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return meta.get(m.group(1), {}).get(m.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1], {})
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.hostIPs": ",".join(a["ip"] for a in status.get("hostIPs", [])),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": ",".join(a["ip"] for a in status.get("podIPs", [])),
    }
    if path not in simple:
        raise ValueError(f"unsupported fieldRef {path!r}")
    return simple[path]


def resource_ref(container: Obj, ref: Obj, node_allocatable: Mapping[str, str]) -> str:
    """resourceFieldRef: the container's limit/request (node allocatable when no limit), over the divisor."""
    kind, _, resource = ref["resource"].partition(".")
    resources = container.get("resources", {})
    value = resources.get(kind, {}).get(resource)
    if value is None and kind == "limits":
        value = node_allocatable.get(resource, "0")
    amount = quantity(value if value is not None else "0")
    return str(math.ceil(amount / quantity(ref.get("divisor", "1"))))


def referenced_objects(pod: Obj) -> set[tuple[str, str]]:
    """The (kind, name) of every ConfigMap and Secret the pod's env, envFrom and volumes name."""
    refs: set[tuple[str, str]] = set()
    spec = pod.get("spec", {})
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        for e in c.get("env", []):
            src = e.get("valueFrom", {})
            if "configMapKeyRef" in src:
                refs.add(("ConfigMap", src["configMapKeyRef"]["name"]))
            if "secretKeyRef" in src:
                refs.add(("Secret", src["secretKeyRef"]["name"]))
        for f in c.get("envFrom", []):
            if "configMapRef" in f:
                refs.add(("ConfigMap", f["configMapRef"]["name"]))
            if "secretRef" in f:
                refs.add(("Secret", f["secretRef"]["name"]))
    for v in spec.get("volumes", []):
        if "configMap" in v:
            refs.add(("ConfigMap", v["configMap"]["name"]))
        if "secret" in v:
            refs.add(("Secret", v["secret"]["secretName"]))
        for s in v.get("projected", {}).get("sources", []):
            if "configMap" in s:
                refs.add(("ConfigMap", s["configMap"]["name"]))
            if "secret" in s:
                refs.add(("Secret", s["secret"]["name"]))
    return refs


class MissingReference(LookupError):
    """A non-optional ConfigMap/Secret (or key) the container needs is not there yet."""


def _key_ref(kind: str, ref: Obj, lookups: Lookups) -> str | None:
    data = lookups.get((kind, ref["name"]))
    if data is None or ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise MissingReference(f"{kind} {ref['name']} key {ref['key']}")
    return data[ref["key"]]


def container_env(
    pod: Obj, container: Obj, base: Mapping[str, str], lookups: Lookups, node_allocatable: Mapping[str, str]
) -> dict[str, str]:
    """The environment of one container, in Kubernetes' order: base (service variables), envFrom, env."""
    env = dict(base)
    for f in container.get("envFrom", []):
        kind, ref = ("ConfigMap", f["configMapRef"]) if "configMapRef" in f else ("Secret", f["secretRef"])
        data = lookups.get((kind, ref["name"]))
        if data is None:
            if ref.get("optional"):
                continue
            raise MissingReference(f"{kind} {ref['name']}")
        env.update({f.get("prefix", "") + k: v for k, v in data.items()})
    for e in container.get("env", []):
        if "valueFrom" not in e:
            env[e["name"]] = expand(e.get("value", ""), env)
            continue
        src = e["valueFrom"]
        value: str | None
        if "fieldRef" in src:
            value = field_ref(pod, src["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in src:
            value = resource_ref(container, src["resourceFieldRef"], node_allocatable)
        elif "configMapKeyRef" in src:
            value = _key_ref("ConfigMap", src["configMapKeyRef"], lookups)
        else:
            value = _key_ref("Secret", src["secretKeyRef"], lookups)
        if value is not None:
            env[e["name"]] = value
    return env


def service_env(api_host: str, api_port: int) -> dict[str, str]:
    """The variables every pod gets for the `kubernetes` Service (in-cluster client configuration)."""
    return {
        "KUBERNETES_SERVICE_HOST": api_host,
        "KUBERNETES_SERVICE_PORT": str(api_port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(api_port),
        "KUBERNETES_PORT": f"tcp://{api_host}:{api_port}",
        f"KUBERNETES_PORT_{api_port}_TCP": f"tcp://{api_host}:{api_port}",
        f"KUBERNETES_PORT_{api_port}_TCP_PROTO": "tcp",
        f"KUBERNETES_PORT_{api_port}_TCP_PORT": str(api_port),
        f"KUBERNETES_PORT_{api_port}_TCP_ADDR": api_host,
    }
