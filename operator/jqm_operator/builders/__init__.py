"""Pure functions from a JqmCluster spec to the plain-dict manifests of its children.

Nothing here talks to Kubernetes or imports kopf (the import-linter contract enforces it), so every child
object can be tested as data: same spec in, same manifests out.
"""

from jqm_operator.builders.children import (
    Children,
    Owner,
    build_children,
    build_configmap,
    build_deployment,
    build_ingress,
    build_node_config,
    build_pdb,
    build_peer_service,
    build_service,
    child_names,
    config_checksum,
    selector_labels,
)

__all__ = [
    "Children",
    "Owner",
    "build_children",
    "build_configmap",
    "build_deployment",
    "build_ingress",
    "build_node_config",
    "build_pdb",
    "build_peer_service",
    "build_service",
    "child_names",
    "config_checksum",
    "selector_labels",
]
