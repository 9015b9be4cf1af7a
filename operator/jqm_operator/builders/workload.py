"""The node pods: the Deployment (environment, volumes, probes, security) and their disruption budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders.identity import ledger_reference
from jqm_operator.builders.meta import Owner, child_names, common, labels, selector_labels
from jqm_operator.builders.render import render
from jqm_operator.model import ClusterSpec

POD_USER = 10001
"""Numeric, so ``runAsNonRoot`` can be verified whatever USER the node image declares."""
SECRET_FILE_MODE = 0o440
"""Mounted secrets: readable by the pod's group (fsGroup) only, never world-readable."""


@dataclass(frozen=True, kw_only=True)
class PodInputs:
    """What the pod template needs besides the spec, read from the API server by the caller."""

    checksum: str
    tls_has_ca: bool = False


def termination_grace_seconds(spec: ClusterSpec) -> int:
    """How long the kubelet waits between SIGTERM and SIGKILL: a SIGTERM drain must run its course.

    drain accept window + shutdown grace (jobs finish) + kill grace (SIGTERM to SIGKILL of the jobs left)
    + handover (finished history to a surviving member) + shutdown linger (clients read final states)
    + slack for the process to exit.
    """
    return (
        c.DRAIN_ACCEPT_SECONDS
        + spec.shutdown_grace_seconds
        + spec.kill_grace_seconds
        + spec.handover_seconds
        + c.SHUTDOWN_LINGER_SECONDS
        + c.SLACK_SECONDS
    )


def _value(name: str, value: object) -> dict[str, Any]:
    return {"name": name, "value": str(value)}


def _optional(pairs: Mapping[str, int | str | None]) -> list[dict[str, Any]]:
    return [_value(name, value) for name, value in pairs.items() if value is not None]


def _auth_env(spec: ClusterSpec, *, tls_has_ca: bool) -> list[dict[str, Any]]:
    # The cluster secret and the management token are used with authentication off too: peers still sign
    # their calls, and drains still need the operator's token.
    env = [
        _value("JQM_AUTH", "on" if spec.auth.enabled else "off"),
        _value("JQM_CLUSTER_SECRET_FILE", f"{c.AUTH_DIR}/{c.CLUSTER_SECRET_KEY}"),
        _value("JQM_MANAGEMENT_TOKEN_FILE", f"{c.AUTH_DIR}/{c.MANAGEMENT_TOKEN_KEY}"),
    ]
    if spec.auth.enabled:
        users = [f"{c.AUTH_DIR}/{c.USERS_KEY}"]
        if spec.auth.users_secret_name:
            users.append(f"{c.USERS_DIR}/{c.USERS_KEY}")
        env.append(_value("JQM_USERS", ",".join(users)))
    if spec.auth.tls_secret_name:
        env += [
            _value("JQM_TLS_CERT_FILE", f"{c.TLS_DIR}/{c.TLS_CERT_KEY}"),
            _value("JQM_TLS_KEY_FILE", f"{c.TLS_DIR}/{c.TLS_KEY_KEY}"),
        ]
        if tls_has_ca:
            env.append(_value("JQM_TLS_CA_FILE", f"{c.TLS_DIR}/{c.TLS_CA_KEY}"))
    return env


def _env(*, owner: Owner, spec: ClusterSpec, tls_has_ca: bool) -> list[dict[str, Any]]:
    peers = f"{child_names(owner.name)['peers']}.{owner.namespace}.svc"
    env: list[dict[str, Any]] = [
        {"name": "JQM_NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "JQM_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        _value("JQM_CONFIG", f"{c.CONFIG_DIR}/{c.NODE_CONFIG_KEY}"),
        _value("JQM_WORKDIR", c.WORK_DIR),
        _value("JQM_LISTEN", f"0.0.0.0:{c.NODE_PORT}"),
        _value("JQM_MANAGEMENT_LISTEN", f"0.0.0.0:{c.MANAGEMENT_PORT}"),
        _value("JQM_PEERS_DNS", peers),
        _value("JQM_ID_LIMIT", spec.id_limit.node_id_capacity),
        _value("JQM_ID_LEDGER", ledger_reference(owner)),
        _value("JQM_SHUTDOWN_GRACE", spec.shutdown_grace_seconds),
        _value("JQM_KILL_GRACE", spec.kill_grace_seconds),
        _value("JQM_HANDOVER_TIMEOUT", spec.handover_seconds),  # the node keeps within what the grace reserves
        _value("JQM_DRAIN_ACCEPT_SECONDS", c.DRAIN_ACCEPT_SECONDS),
        _value("JQM_SHUTDOWN_LINGER", c.SHUTDOWN_LINGER_SECONDS),
        *_auth_env(spec, tls_has_ca=tls_has_ca),
        *_optional(
            {
                "JQM_HISTORY_MAX_JOBS": spec.history.max_jobs,
                "JQM_HISTORY_MAX_AGE_SECONDS": spec.history.max_age_seconds,
                "JQM_HANDOVER_LOG_BYTES": spec.history.log_bytes,
                "JQM_MAX_INPUT_FILES": spec.limits.max_input_files,
                "JQM_MAX_INPUT_BYTES": spec.limits.max_input_bytes,
            }
        ),
    ]
    if spec.job_definitions_config_maps:
        env.append(_value("JQM_JOBDEFS", c.JOBDEFS_DIR))
    return env + [dict(e) for e in spec.pod.env]


def _secret_volume(name: str, secret: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"secretName": secret, "defaultMode": SECRET_FILE_MODE}
    if keys is not None:
        source["items"] = [{"key": key, "path": key} for key in keys]
    return {"name": name, "secret": source}


def _volumes(*, owner: Owner, spec: ClusterSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and their mounts: configuration, secrets (only the keys the node needs), scratch space."""
    names = child_names(owner.name)
    work: dict[str, Any] = {}
    if spec.limits.work_dir_size_limit:
        work["sizeLimit"] = spec.limits.work_dir_size_limit
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": names["configmap"]}}]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": c.CONFIG_DIR, "readOnly": True}]
    if spec.job_definitions_config_maps:
        sources = [{"configMap": {"name": name}} for name in spec.job_definitions_config_maps]
        volumes.append({"name": "jobdefs", "projected": {"sources": sources}})
        mounts.append({"name": "jobdefs", "mountPath": c.JOBDEFS_DIR, "readOnly": True})
    # Never the admin password: the nodes need its hash (users.yaml) only.
    volumes.append(_secret_volume("auth", names["auth"], c.NODE_AUTH_KEYS))
    mounts.append({"name": "auth", "mountPath": c.AUTH_DIR, "readOnly": True})
    if spec.auth.enabled and spec.auth.users_secret_name:
        volumes.append(_secret_volume("users", spec.auth.users_secret_name, (c.USERS_KEY,)))
        mounts.append({"name": "users", "mountPath": c.USERS_DIR, "readOnly": True})
    if spec.auth.tls_secret_name:
        volumes.append(_secret_volume("tls", spec.auth.tls_secret_name))
        mounts.append({"name": "tls", "mountPath": c.TLS_DIR, "readOnly": True})
    volumes += [{"name": "work", "emptyDir": work}, {"name": "tmp", "emptyDir": {}}]
    mounts += [{"name": "work", "mountPath": c.WORK_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    return volumes, mounts


def _probes(spec: ClusterSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    scheme = "HTTPS" if spec.auth.tls_secret_name else "HTTP"
    readiness = {
        "httpGet": {"path": c.HEALTH_PATH, "port": c.NODE_PORT_NAME, "scheme": scheme},
        "periodSeconds": 5,
        "failureThreshold": 2,
    }
    liveness = {
        "httpGet": {"path": c.STATUS_PATH, "port": c.MANAGEMENT_PORT_NAME, "scheme": scheme},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 6,
    }
    return readiness, liveness


def build_deployment(*, owner: Owner, spec: ClusterSpec, inputs: PodInputs) -> dict[str, Any]:
    """The node Deployment: a pod that passes Pod Security "restricted", probes on the node's own
    endpoints, the configuration checksum that rolls it."""
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
    volumes, mounts = _volumes(owner=owner, spec=spec)
    readiness, liveness = _probes(spec)
    ports = [
        {"name": c.NODE_PORT_NAME, "containerPort": c.NODE_PORT, "protocol": "TCP"},
        {"name": c.MANAGEMENT_PORT_NAME, "containerPort": c.MANAGEMENT_PORT, "protocol": "TCP"},
    ]
    return render(
        "deployment.yaml.j2",
        name=names["deployment"],
        replicas=spec.replicas,
        selector=selector_labels(owner.name),
        pod_labels={**spec.pod.labels, **labels(owner, "node")},
        pod_annotations={**spec.pod.annotations, c.CONFIG_CHECKSUM_ANNOTATION: inputs.checksum},
        service_account=names["node_identity"],
        image=spec.image,
        image_pull_policy=spec.image_pull_policy,
        resources=dict(spec.resources),
        env=_env(owner=owner, spec=spec, tls_has_ca=inputs.tls_has_ca),
        ports=ports,
        readiness=readiness,
        liveness=liveness,
        volumes=volumes,
        volume_mounts=mounts,
        pod_security=pod_security,
        container_security=container_security,
        termination_grace=termination_grace_seconds(spec),
        node_selector=dict(spec.pod.node_selector),
        tolerations=[dict(t) for t in spec.pod.tolerations],
        affinity=dict(spec.pod.affinity),
        priority_class_name=spec.pod.priority_class_name,
        image_pull_secrets=[{"name": s} for s in spec.pod.image_pull_secrets],
        **common(owner, "node"),
    )


def build_pdb(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any]:
    """The PodDisruptionBudget that both voluntary evictions and the ID-limit restarts respect."""
    return render(
        "pdb.yaml.j2",
        name=child_names(owner.name)["pdb"],
        max_unavailable=spec.max_unavailable,
        selector=selector_labels(owner.name),
        **common(owner, "node"),
    )
