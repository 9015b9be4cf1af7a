"""Every child of a JqmCluster that is applied, in order; see the sibling modules for each one.

The auth Secret is not among them: its values are random, so :mod:`jqm_operator.reconcile` creates it
once (:func:`jqm_operator.builders.identity.build_auth_secret`) instead of applying it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders.config import build_configmap, config_checksum
from jqm_operator.builders.identity import (
    build_ledger_configmap,
    build_node_role,
    build_node_role_binding,
    build_node_service_account,
)
from jqm_operator.builders.meta import OperatorIdentity, Owner, child_names
from jqm_operator.builders.network import build_ingress, build_network_policy, build_peer_service, build_service
from jqm_operator.builders.workload import PodInputs, build_deployment, build_pdb
from jqm_operator.model import ClusterSpec


@dataclass(frozen=True, kw_only=True)
class ExternalFacts:
    """What the children depend on besides the spec, read from the API server by the caller."""

    config_digests: Mapping[str, str] = field(default_factory=dict)
    """Digest of the data of each ConfigMap of ``jobDefinitionsFrom``: an edit rolls the nodes."""
    auth_digest: str = ""
    """Digest of the auth Secret's cluster secret and management token: new values roll the nodes."""
    tls_has_ca: bool = False
    operator: OperatorIdentity | None = None


@dataclass(frozen=True, kw_only=True)
class Children:
    """The manifests to apply, the kinds+names that must not exist (disabled parts), and the checksum."""

    manifests: tuple[dict[str, Any], ...]
    absent: tuple[tuple[str, str], ...] = ()
    checksum: str = ""
    never_replaced: frozenset[tuple[str, str]] = frozenset()
    """Children a refused apply must never replace: the ID ledger holds the nodes' data."""


def build_children(*, owner: Owner, spec: ClusterSpec, facts: ExternalFacts | None = None) -> Children:
    """Every applied child of one JqmCluster, in apply order (what the pods use before the pods)."""
    facts = facts or ExternalFacts()
    names = child_names(owner.name)
    configmap = build_configmap(owner=owner, spec=spec)
    external = {f"configmap/{name}": digest for name, digest in facts.config_digests.items()}
    external["secret/auth"] = facts.auth_digest
    checksum = config_checksum(node_config=configmap["data"][c.NODE_CONFIG_KEY], external=external)
    manifests = [
        configmap,
        build_ledger_configmap(owner=owner),
        build_node_service_account(owner=owner),
        build_node_role(owner=owner),
        build_node_role_binding(owner=owner),
        build_peer_service(owner=owner),
        build_service(owner=owner, spec=spec),
        build_pdb(owner=owner, spec=spec),
        build_deployment(owner=owner, spec=spec, inputs=PodInputs(checksum=checksum, tls_has_ca=facts.tls_has_ca)),
    ]
    absent: list[tuple[str, str]] = []
    optional = {
        ("NetworkPolicy", names["networkpolicy"]): build_network_policy(
            owner=owner, spec=spec, operator=facts.operator
        ),
        ("Ingress", names["ingress"]): build_ingress(owner=owner, spec=spec),
    }
    for key, manifest in optional.items():
        if manifest is None:
            absent.append(key)
        else:
            manifests.append(manifest)
    return Children(
        manifests=tuple(manifests),
        absent=tuple(absent),
        checksum=checksum,
        never_replaced=frozenset({("ConfigMap", names["ledger"])}),
    )
