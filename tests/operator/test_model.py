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
        "ingress": {"enabled": True, "className": "c"},
        "auth": {"usersSecretName": "u"},
        "networkPolicy": {"enabled": True},
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
            "podDisruptionBudget": {"maxUnavailable": "25%"},
            "pod": {"imagePullSecrets": ["pull"], "workDirSizeLimit": "1Gi"},
            "auth": {"enabled": False, "usersSecretName": "u", "tls": {"secretName": "t"}},
            "history": {"maxJobs": 10, "maxAgeSeconds": 20, "logBytes": 30},
            "limits": {"maxInputFiles": 1, "maxInputBytes": 2},
            "networkPolicy": {"enabled": True, "clientFrom": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
        }
    )
    assert spec.replicas == 4 and spec.image_pull_policy == "Always"
    assert (spec.shutdown_grace_seconds, spec.kill_grace_seconds) == (5, 2)
    assert spec.job_definitions_config_maps == ("defs",)
    assert spec.max_unavailable == "25%"
    assert spec.pod.image_pull_secrets == ("pull",) and spec.limits.work_dir_size_limit == "1Gi"
    assert (spec.auth.enabled, spec.auth.users_secret_name, spec.auth.tls_secret_name) == (False, "u", "t")
    assert (spec.history.max_jobs, spec.history.max_age_seconds, spec.history.log_bytes) == (10, 20, 30)
    assert (spec.limits.max_input_files, spec.limits.max_input_bytes) == (1, 2)
    assert spec.network_policy.enabled and spec.network_policy.client_from == ({"ipBlock": {"cidr": "10.0.0.0/8"}},)


def test_security_defaults_are_on() -> None:
    spec = parse_spec({})
    assert spec.auth.enabled is True and spec.network_policy.enabled is False
    assert spec.history.max_jobs is None and spec.limits.work_dir_size_limit is None  # node defaults


def test_work_dir_size_limit_has_a_new_place_and_an_integer_form() -> None:
    assert parse_spec({"limits": {"workDirSizeLimit": 1073741824}}).limits.work_dir_size_limit == "1073741824"
    assert parse_spec({"pod": {"workDirSizeLimit": "1Gi"}}).limits.work_dir_size_limit == "1Gi"


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
