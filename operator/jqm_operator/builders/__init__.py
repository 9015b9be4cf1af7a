"""Pure functions from a JqmCluster spec to the plain-dict manifests of its children.

Nothing here talks to Kubernetes or imports kopf (the import-linter contract enforces it), so every child
object can be tested as data: same spec in, same manifests out.
"""

from jqm_operator.builders.children import Children, ExternalFacts, build_children
from jqm_operator.builders.config import build_configmap, build_node_config, config_checksum
from jqm_operator.builders.identity import (
    build_auth_secret,
    build_ledger_configmap,
    build_node_role,
    build_node_role_binding,
    build_node_service_account,
    ledger_reference,
)
from jqm_operator.builders.meta import OperatorIdentity, Owner, child_names, selector_labels
from jqm_operator.builders.network import build_ingress, build_network_policy, build_peer_service, build_service
from jqm_operator.builders.repair import replacement
from jqm_operator.builders.workload import PodInputs, build_deployment, build_pdb, termination_grace_seconds

__all__ = [
    "Children",
    "ExternalFacts",
    "OperatorIdentity",
    "Owner",
    "PodInputs",
    "build_auth_secret",
    "build_children",
    "build_configmap",
    "build_deployment",
    "build_ingress",
    "build_ledger_configmap",
    "build_network_policy",
    "build_node_config",
    "build_node_role",
    "build_node_role_binding",
    "build_node_service_account",
    "build_pdb",
    "build_peer_service",
    "build_service",
    "child_names",
    "config_checksum",
    "ledger_reference",
    "replacement",
    "selector_labels",
    "termination_grace_seconds",
]
