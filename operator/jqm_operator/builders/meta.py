"""Identity of a JqmCluster's children: their owner, names and labels, shared by every builder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jqm_operator import constants as c


@dataclass(frozen=True, kw_only=True)
class Owner:
    """The JqmCluster a child belongs to; its uid makes the owner reference (and garbage collection)."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True, kw_only=True)
class OperatorIdentity:
    """How the operator's own pods are selected, for the NetworkPolicy rule on the management port, and
    who else the operator's installation admits there (``management_from``: a metrics scraper)."""

    namespace: str
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    management_from: tuple[Mapping[str, Any], ...] = ()


def child_names(name: str) -> dict[str, str]:
    """Names of the children of JqmCluster ``name`` (the CRD caps the name so all of them fit)."""
    return {
        "configmap": f"{name}-node-config",
        "deployment": name,
        "service": name,
        "peers": f"{name}-peers",
        "ingress": name,
        "pdb": name,
        "networkpolicy": name,
        "auth": f"{name}-auth",
        "ledger": f"{name}-id-ledger",
        "node_identity": f"{name}-node",  # ServiceAccount, Role and RoleBinding of the node pods
    }


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select the node pods of one cluster; immutable in a Deployment, so never extended."""
    return {c.LABEL_NAME: c.NODE_APP_NAME, c.LABEL_INSTANCE: name}


def labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        **selector_labels(owner.name),
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_PART_OF: "jqm",
    }


def common(owner: Owner, component: str) -> dict[str, Any]:
    """Template values every child needs for its metadata (see templates/_meta.j2)."""
    return {
        "namespace": owner.namespace,
        "owner_name": owner.name,
        "owner_uid": owner.uid,
        "api_version": c.API_VERSION,
        "kind": c.KIND,
        "labels": labels(owner, component),
    }


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
