"""The CRD against a real API server: every spec the probes found accepted-but-broken is refused at
``kubectl apply`` with a message a user can act on, and correct specs still pass.

Creates are dry runs with strict field validation, as ``kubectl apply`` sends them: nothing is stored, no
operator is needed. Skipped (with the reason) when no cluster is reachable.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.operator.kubetest import connect, install_crds, jqmcluster

pytestmark = pytest.mark.integration
GROUP, VERSION, PLURAL = "jqm.enioka-community.io", "v1alpha1", "jqmclusters"
EXAMPLE = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "jqmcluster.yaml").read_text())
JOB = {"name": "Echo", "path": "echo"}


@pytest.fixture(scope="module")
def api() -> client.ApiClient:
    api, why = connect()
    if api is None:
        pytest.skip(why)
    install_crds(api)  # the API server also checks the CEL rules' cost here
    return api


@pytest.fixture(scope="module")
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"jqm-crd-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def create(api: client.ApiClient, namespace: str, spec: dict[str, Any], *, name: str = "demo") -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, jqmcluster(name, spec), dry_run="All", field_validation="Strict"
    )


def refusal(api: client.ApiClient, namespace: str, spec: dict[str, Any], *, name: str = "demo") -> str:
    with pytest.raises(ApiException) as refused:
        create(api, namespace, spec, name=name)
    assert refused.value.status in (400, 422), refused.value.body
    return str(json.loads(refused.value.body)["message"])


BAD = {
    "job definition on a queue that does not exist": (
        {"queues": [{"name": "A", "default": True}], "jobDefinitions": [{**JOB, "queue": "NOPE"}]},
        "every jobDefinitions[].queue must name a queue of spec.queues",
    ),
    "job definition on a queue other than DEFAULT without queues": (
        {"jobDefinitions": [{**JOB, "queue": "OTHER"}]},
        "every jobDefinitions[].queue must name a queue of spec.queues",
    ),
    "JQM_ID_LIMIT in pod.env": (
        {"pod": {"env": [{"name": "JQM_ID_LIMIT", "value": "5"}]}},
        "JQM_ID_LIMIT is reserved: every JQM_* variable is set by the operator",
    ),
    "JQM_PEERS in pod.env": (
        {"pod": {"env": [{"name": "OK", "value": "1"}, {"name": "JQM_PEERS", "value": "10.0.0.1"}]}},
        'spec.pod.env[1]: Invalid value: "object": JQM_PEERS is reserved',
    ),
    "any other JQM_ name in pod.env": (
        {"pod": {"env": [{"name": "JQM_SOMETHING_NEW", "value": "x"}]}},
        "JQM_SOMETHING_NEW is reserved",
    ),
    "env name a container refuses": ({"pod": {"env": [{"name": "A B"}]}}, "spec.pod.env[0].name"),
    "image with a space": ({"image": "jqm node:latest"}, 'spec.image: Invalid value: "string": not an image reference'),
    "image with an upper-case repository": ({"image": "JQM-node"}, "not an image reference"),
    "image with an empty tag": ({"image": "jqm-node:"}, "not an image reference"),
    "Ingress TLS without a host": (
        {"ingress": {"enabled": True, "className": "c", "tlsSecretName": "t"}},
        "TLS needs a host",
    ),
    "pod label key a Deployment refuses": (
        {"pod": {"labels": {"bad key!": "x"}}},
        "keys must be [prefix/]name",
    ),
    "pod label value a Deployment refuses": ({"pod": {"labels": {"team": "a b"}}}, "spec.pod.labels.team"),
    "annotation key a Service refuses": (
        {"service": {"annotations": {"-x": "y"}}},
        "keys must be [prefix/]name",
    ),
    "disruption budget that is neither a count nor a percentage": (
        {"podDisruptionBudget": {"maxUnavailable": "some"}},
        "a number of nodes (0 or more) or a percentage",
    ),
    "memory request above the limit": (
        {"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}}},
        "a cpu, memory or ephemeral-storage request may not exceed its limit",
    ),
    "resource quantity with a space": ({"resources": {"limits": {"memory": "1 Gi"}}}, "spec.resources.limits.memory"),
    "work directory size in both places": (
        {"pod": {"workDirSizeLimit": "1Gi"}, "limits": {"workDirSizeLimit": "2Gi"}},
        "give limits.workDirSizeLimit only",
    ),
    "work directory size of zero": ({"limits": {"workDirSizeLimit": "0"}}, "must be a positive quantity"),
    "work directory size in words": ({"limits": {"workDirSizeLimit": "big"}}, "spec.limits.workDirSizeLimit"),
    "negative history retention": ({"history": {"maxAgeSeconds": -1}}, "spec.history.maxAgeSeconds"),
    "negative input limit": ({"limits": {"maxInputBytes": -1}}, "spec.limits.maxInputBytes"),
    "grace period beyond its bound": ({"nodeConfig": {"shutdownGraceSeconds": 90000}}, "shutdownGraceSeconds"),
    "threshold a node can never reach": (
        {"idLimit": {"nodeIdCapacity": 50, "restartThresholdIds": 60}},
        "restartThresholdIds may not exceed nodeIdCapacity",
    ),
    "TLS without its Secret name": ({"auth": {"tls": {}}}, "spec.auth.tls.secretName"),
    "users Secret name that is not a name": ({"auth": {"usersSecretName": "My Users"}}, "spec.auth.usersSecretName"),
    "NetworkPolicy peer that selects nothing": (
        {"networkPolicy": {"enabled": True, "clientFrom": [{}]}},
        "give podSelector, namespaceSelector or ipBlock",
    ),
    "NetworkPolicy address range that is not one": (
        {"networkPolicy": {"enabled": True, "managementFrom": [{"ipBlock": {"cidr": "anywhere"}}]}},
        "cidr",
    ),
    "the removed peer networks": ({"network": {}}, 'unknown field "spec.network"'),
    "two default queues": (
        {"queues": [{"name": "a", "default": True}, {"name": "b", "default": True}]},
        "at most one queue may be the default queue",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_broken_spec_is_refused_with_a_readable_message(api: client.ApiClient, namespace: str, case: str) -> None:
    spec, expected = BAD[case]
    message = refusal(api, namespace, spec)
    assert expected in message, message


def test_a_name_too_long_for_the_children_is_refused(api: client.ApiClient, namespace: str) -> None:
    assert "at most 47 characters" in refusal(api, namespace, {}, name="a" * 48)


GOOD = {
    "the example": EXAMPLE["spec"],
    "defaults": {},
    "everything": {
        "image": "registry.example.com:5000/team/jqm-node:1.2.3@sha256:" + "a" * 64,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}},
        "nodeConfig": {"shutdownGraceSeconds": 60, "killGraceSeconds": 5, "handoverSeconds": 120},
        "queues": [{"name": "fast", "default": True}, {"name": "slow", "maxThreads": 2}],
        "jobDefinitions": [
            {"name": "A", "path": "echo a", "queue": "slow", "parametersAsShellCode": True},
            {"name": "B", "path": "echo b"},
        ],
        "auth": {"usersSecretName": "my-users", "tls": {"secretName": "node-tls"}},
        "history": {"maxJobs": 100000, "maxAgeSeconds": 86400, "logBytes": 65536},
        "limits": {"maxInputFiles": 20, "maxInputBytes": 104857600, "workDirSizeLimit": "5Gi"},
        "networkPolicy": {
            "enabled": True,
            "clientFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}],
            "managementFrom": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
        },
        "service": {"type": "ClusterIP", "annotations": {"example.com/lb": "internal"}},
        "ingress": {"enabled": True, "className": "traefik", "host": "jqm.example.com", "tlsSecretName": "t"},
        "idLimit": {"restartThresholdIds": 20, "nodeIdCapacity": 1000},
        "podDisruptionBudget": {"maxUnavailable": "25%"},
        "pod": {
            "labels": {"team": "batch", "example.com/tier": "jobs"},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "env": [{"name": "HTTP_PROXY", "value": "http://proxy:3128"}],
            "imagePullSecrets": ["pull"],
        },
    },
    "the deprecated work directory size alone": {"pod": {"workDirSizeLimit": "1Gi"}},
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_a_correct_spec_is_accepted(api: client.ApiClient, namespace: str, case: str) -> None:
    create(api, namespace, GOOD[case])
