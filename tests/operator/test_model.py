"""The typed spec: operator-side defaults equal the CRD's, thresholds round the right way."""

from __future__ import annotations

import pytest

from jqm_operator.model import ClusterSpec, IdLimitPolicy, parse_spec
from tests.operator.crdutil import defaulted_spec


def test_operator_defaults_equal_crd_defaults() -> None:
    assert parse_spec({}) == parse_spec(defaulted_spec({})) == ClusterSpec()


def test_nested_defaults_equal_crd_defaults_when_parents_are_given() -> None:
    spec = {
        "service": {"annotations": {"a": "b"}},
        "idLimit": {"restartThresholdIds": 20},
        "ingress": {"enabled": True},
    }
    assert parse_spec(spec) == parse_spec(defaulted_spec(spec))


def test_full_spec_is_read() -> None:
    spec = parse_spec(
        {
            "replicas": 4,
            "image": "registry.example/jqm-node:1",
            "imagePullPolicy": "Always",
            "nodeConfig": {"shutdownGraceSeconds": 5, "killGraceSeconds": 2},
            "jobDefinitionsFrom": [{"name": "defs"}],
            "network": {"peerCIDRs": ["10.244.0.0/16"]},
            "podDisruptionBudget": {"maxUnavailable": "25%"},
            "pod": {"imagePullSecrets": ["pull"], "workDirSizeLimit": "1Gi"},
        }
    )
    assert spec.replicas == 4 and spec.image_pull_policy == "Always"
    assert (spec.shutdown_grace_seconds, spec.kill_grace_seconds) == (5, 2)
    assert spec.job_definitions_config_maps == ("defs",)
    assert spec.peer_cidrs == ("10.244.0.0/16",)
    assert spec.max_unavailable == "25%"
    assert spec.pod.image_pull_secrets == ("pull",) and spec.pod.work_dir_size_limit == "1Gi"


@pytest.mark.parametrize(
    ("policy", "capacity", "threshold"),
    [
        (IdLimitPolicy(), 1_000_000, 950_000),
        (IdLimitPolicy(restart_threshold=1.0), 1_000_000, 1_000_000),
        (IdLimitPolicy(restart_threshold=0.001), 100, 1),
        (IdLimitPolicy(restart_threshold_ids=20), 1_000_000, 20),
        (IdLimitPolicy(restart_threshold_ids=500), 100, 100),
    ],
)
def test_threshold(policy: IdLimitPolicy, capacity: int, threshold: int) -> None:
    assert policy.threshold(capacity=capacity) == threshold
