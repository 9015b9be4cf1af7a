"""The node configuration: ``node.yaml`` in a ConfigMap, and the checksum that rolls the pods."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import yaml

from jqm_operator import constants as c
from jqm_operator.builders.meta import Owner, child_names, common, drop_none
from jqm_operator.builders.render import render
from jqm_operator.model import ClusterSpec


def build_node_config(spec: ClusterSpec) -> dict[str, Any]:
    """The node's YAML configuration (docs/NODE.md); the node name comes from the pod name instead."""
    config: dict[str, Any] = {"shutdownGraceSeconds": spec.shutdown_grace_seconds}
    if spec.queues:
        config["queues"] = [drop_none(q) for q in spec.queues]
    if spec.job_definitions:
        config["jobDefinitions"] = [drop_none(jd) for jd in spec.job_definitions]
    return config


def config_checksum(*, node_config: str, external: Mapping[str, str] | None = None) -> str:
    """A digest of everything a node reads only at start; put on the pod template, a change rolls pods.

    ``external`` maps names of other inputs (referenced job-definition ConfigMaps, the auth Secret's
    identity) to digests of them, so a change there restarts the nodes too.
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
        **common(owner, "config"),
    )
