"""One builder per child object of a JqmCluster, and :func:`build_children` for the whole set.

Each builder returns exactly what the operator server-side applies, owner reference included, so the
tests read the same dicts the API server receives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from jqm_operator import constants as c
from jqm_operator.builders.render import render
from jqm_operator.model import ClusterSpec

POD_USER = 10001
"""Numeric, so ``runAsNonRoot`` can be verified whatever USER the node image declares."""


@dataclass(frozen=True, kw_only=True)
class Owner:
    """The JqmCluster a child belongs to; its uid makes the owner reference (and garbage collection)."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True, kw_only=True)
class Children:
    """The manifests to apply, and the kinds+names that must not exist (a disabled Ingress)."""

    manifests: tuple[dict[str, Any], ...]
    absent: tuple[tuple[str, str], ...] = ()
    checksum: str = ""


def child_names(name: str) -> dict[str, str]:
    """Names of the children of JqmCluster ``name`` (the CRD caps the name so all of them fit)."""
    return {
        "configmap": f"{name}-node-config",
        "deployment": name,
        "service": name,
        "peers": f"{name}-peers",
        "ingress": name,
        "pdb": name,
    }


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select the node pods of one cluster; immutable in a Deployment, so never extended."""
    return {c.LABEL_NAME: c.NODE_APP_NAME, c.LABEL_INSTANCE: name}


def _labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        **selector_labels(owner.name),
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_PART_OF: "jqm",
    }


def _common(owner: Owner, component: str) -> dict[str, Any]:
    return {"owner": owner, "api_version": c.API_VERSION, "kind": c.KIND, "labels": _labels(owner, component)}


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def build_node_config(spec: ClusterSpec) -> dict[str, Any]:
    """The node's YAML configuration (docs/NODE.md); the node name comes from the pod name instead."""
    config: dict[str, Any] = {"shutdownGraceSeconds": spec.shutdown_grace_seconds}
    if spec.queues:
        config["queues"] = [_drop_none(q) for q in spec.queues]
    if spec.job_definitions:
        config["jobDefinitions"] = [_drop_none(jd) for jd in spec.job_definitions]
    return config


def config_checksum(*, node_config: str, external: Mapping[str, str] | None = None) -> str:
    """A digest of everything a node reads only at start; put on the pod template, a change rolls pods.

    ``external`` maps the names of referenced job-definition ConfigMaps to digests of their data, so
    editing such a ConfigMap restarts the nodes too.
    """
    digest = hashlib.sha256(node_config.encode())
    for name in sorted(external or {}):
        digest.update(f"\0{name}\0{(external or {})[name]}".encode())
    return digest.hexdigest()


def build_configmap(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any]:
    """The ConfigMap holding ``node.yaml``."""
    text = yaml.safe_dump(build_node_config(spec), sort_keys=True, default_flow_style=False)
    return render(
        "configmap.yaml.j2",
        name=child_names(owner.name)["configmap"],
        data={c.NODE_CONFIG_KEY: text},
        **_common(owner, "config"),
    )


def _env(*, owner: Owner, spec: ClusterSpec) -> list[dict[str, Any]]:
    peers = f"{child_names(owner.name)['peers']}.{owner.namespace}.svc"
    env: list[dict[str, Any]] = [
        {"name": "JQM_NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "JQM_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "JQM_CONFIG", "value": f"{c.CONFIG_DIR}/{c.NODE_CONFIG_KEY}"},
        {"name": "JQM_WORKDIR", "value": c.WORK_DIR},
        {"name": "JQM_LISTEN", "value": f"0.0.0.0:{c.NODE_PORT}"},
        {"name": "JQM_PEER_CIDRS", "value": ",".join(spec.peer_cidrs)},
        {"name": "JQM_PEERS_DNS", "value": peers},
        {"name": "JQM_ID_LIMIT", "value": str(spec.id_limit.node_id_capacity)},
        {"name": "JQM_SHUTDOWN_GRACE", "value": str(spec.shutdown_grace_seconds)},
        {"name": "JQM_KILL_GRACE", "value": str(spec.kill_grace_seconds)},
        {"name": "JQM_DRAIN_ACCEPT_SECONDS", "value": str(c.DRAIN_ACCEPT_SECONDS)},
        {"name": "JQM_SHUTDOWN_LINGER", "value": str(c.SHUTDOWN_LINGER_SECONDS)},
    ]
    if spec.job_definitions_config_maps:
        env.append({"name": "JQM_JOBDEFS", "value": c.JOBDEFS_DIR})
    return env + [dict(e) for e in spec.pod.env]


def build_deployment(*, owner: Owner, spec: ClusterSpec, checksum: str) -> dict[str, Any]:
    """The node Deployment: hardened pod, probes on the node's own endpoints, config checksum."""
    names = child_names(owner.name)
    pod_security = {
        "runAsNonRoot": True,
        "runAsUser": POD_USER,
        "runAsGroup": POD_USER,
        "fsGroup": POD_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
        **spec.pod.security_context,
    }
    container_security = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        **spec.pod.container_security_context,
    }
    pod_labels = {**spec.pod.labels, **_labels(owner, "node")}
    pod_annotations = {**spec.pod.annotations, c.CONFIG_CHECKSUM_ANNOTATION: checksum}
    work_volume: dict[str, Any] = {}
    if spec.pod.work_dir_size_limit:
        work_volume["sizeLimit"] = spec.pod.work_dir_size_limit
    return render(
        "deployment.yaml.j2",
        name=names["deployment"],
        configmap=names["configmap"],
        replicas=spec.replicas,
        selector=selector_labels(owner.name),
        pod_labels=pod_labels,
        pod_annotations=pod_annotations,
        image=spec.image,
        image_pull_policy=spec.image_pull_policy,
        resources=dict(spec.resources),
        env=_env(owner=owner, spec=spec),
        port=c.NODE_PORT,
        port_name=c.NODE_PORT_NAME,
        health_path=c.HEALTH_PATH,
        status_path=c.STATUS_PATH,
        config_dir=c.CONFIG_DIR,
        jobdefs_dir=c.JOBDEFS_DIR,
        work_dir=c.WORK_DIR,
        work_volume=work_volume,
        jobdef_configmaps=list(spec.job_definitions_config_maps),
        pod_security=pod_security,
        container_security=container_security,
        # Running jobs get the node's shutdown grace, then the kill grace, then a margin for the process.
        termination_grace=spec.shutdown_grace_seconds + spec.kill_grace_seconds + c.SHUTDOWN_LINGER_SECONDS + 5,
        node_selector=dict(spec.pod.node_selector),
        tolerations=[dict(t) for t in spec.pod.tolerations],
        affinity=dict(spec.pod.affinity),
        priority_class_name=spec.pod.priority_class_name,
        image_pull_secrets=[{"name": s} for s in spec.pod.image_pull_secrets],
        **_common(owner, "node"),
    )


def build_service(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any]:
    """The load-balanced Service: only ready (so not draining) nodes receive client traffic."""
    return render(
        "service.yaml.j2",
        name=child_names(owner.name)["service"],
        service=spec.service,
        annotations=dict(spec.service.annotations),
        selector=selector_labels(owner.name),
        port_name=c.NODE_PORT_NAME,
        **_common(owner, "api"),
    )


def build_peer_service(*, owner: Owner) -> dict[str, Any]:
    """The headless Service behind ``JQM_PEERS_DNS``; it lists unready nodes too, since a draining node
    still answers for the jobs it owns."""
    return render(
        "service-peers.yaml.j2",
        name=child_names(owner.name)["peers"],
        selector=selector_labels(owner.name),
        port=c.NODE_PORT,
        port_name=c.NODE_PORT_NAME,
        **_common(owner, "peers"),
    )


def build_ingress(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any] | None:
    """The Ingress, or None when disabled (the caller then deletes any left from before)."""
    if not spec.ingress.enabled:
        return None
    return render(
        "ingress.yaml.j2",
        name=child_names(owner.name)["ingress"],
        ingress=spec.ingress,
        annotations=dict(spec.ingress.annotations),
        service=child_names(owner.name)["service"],
        service_port=spec.service.port,
        **_common(owner, "api"),
    )


def build_pdb(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any]:
    """The PodDisruptionBudget that both voluntary evictions and the ID-limit restarts respect."""
    return render(
        "pdb.yaml.j2",
        name=child_names(owner.name)["pdb"],
        max_unavailable=spec.max_unavailable,
        selector=selector_labels(owner.name),
        **_common(owner, "node"),
    )


def build_children(*, owner: Owner, spec: ClusterSpec, external: Mapping[str, str] | None = None) -> Children:
    """Every child of one JqmCluster, in apply order (config before the pods that read it)."""
    configmap = build_configmap(owner=owner, spec=spec)
    checksum = config_checksum(node_config=configmap["data"][c.NODE_CONFIG_KEY], external=external)
    manifests = [
        configmap,
        build_peer_service(owner=owner),
        build_service(owner=owner, spec=spec),
        build_pdb(owner=owner, spec=spec),
        build_deployment(owner=owner, spec=spec, checksum=checksum),
    ]
    absent: list[tuple[str, str]] = []
    ingress = build_ingress(owner=owner, spec=spec)
    if ingress is None:
        absent.append(("Ingress", child_names(owner.name)["ingress"]))
    else:
        manifests.append(ingress)
    return Children(manifests=tuple(manifests), absent=tuple(absent), checksum=checksum)
