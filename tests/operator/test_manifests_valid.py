"""Every builder's output is a valid object for the Kubernetes version the project targets."""

from __future__ import annotations

import kubernetes_validate
import pytest

from jqm_operator.builders import Owner, build_children
from jqm_operator.model import parse_spec
from tests.operator.test_chart import KUBE_VERSION

OWNER = Owner(name="demo", namespace="jobs", uid="0b0e6c3e-0000-4000-8000-000000000000")
SPECS = {
    "defaults": {},
    "everything": {
        "replicas": 4,
        "jobDefinitionsFrom": [{"name": "defs"}],
        "queues": [{"name": "DEFAULT", "default": True}],
        "jobDefinitions": [{"name": "DemoEcho", "path": "echo hi"}],
        "service": {"type": "NodePort", "annotations": {"a": "b"}},
        "ingress": {"enabled": True, "className": "nginx", "host": "jqm.example.com", "tlsSecretName": "tls"},
        "podDisruptionBudget": {"maxUnavailable": "25%"},
        "pod": {
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 1, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                    ]
                }
            },
            "env": [{"name": "EXTRA", "value": "1"}],
            "priorityClassName": "high",
            "imagePullSecrets": ["pull"],
            "workDirSizeLimit": "1Gi",
        },
    },
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_children_validate_strictly(name: str) -> None:
    children = build_children(owner=OWNER, spec=parse_spec(SPECS[name]))
    for manifest in children.manifests:
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
