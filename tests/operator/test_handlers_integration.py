"""The operator's handlers against a real API server, run in-process with kopf's KopfRunner.

Skipped (with the reason) when no cluster is reachable. The ID-limit test needs no kubelet (and skips
where kubelets run): it writes the node pod's status itself (Running, a 127.0.0.x IP, Ready) and answers
its ``/node/status`` and ``/node/drain`` from a stand-in HTTP server on that loopback address.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.operator.kubetest import (
    connect,
    install_crds,
    jqmcluster,
    operator_args,
    wait_for,
    wait_until_leading,
)

# Short timers, read when the handlers module is imported (by KopfRunner below).
os.environ.setdefault("JQM_OPERATOR_RESYNC_SECONDS", "2")
os.environ.setdefault("JQM_OPERATOR_IDLIMIT_SECONDS", "1")
os.environ.setdefault("JQM_OPERATOR_NODE_ACCESS", "direct")
os.environ.setdefault("JQM_OPERATOR_LIVENESS", "")

pytestmark = pytest.mark.integration
GROUP, VERSION, PLURAL = "jqm.enioka-community.io", "v1alpha1", "jqmclusters"


@pytest.fixture(scope="module")
def api() -> client.ApiClient:
    api, why = connect()
    if api is None:
        pytest.skip(why)
    install_crds(api)
    return api


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"jqm-test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    # The operator has stopped by now: release kopf's finalizer (it guards no cleanup) so nothing hangs.
    custom = client.CustomObjectsApi(api)
    for item in custom.list_namespaced_custom_object(GROUP, VERSION, name, PLURAL)["items"]:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, name, PLURAL, item["metadata"]["name"], {"metadata": {"finalizers": None}}
        )
    core.delete_namespace(name)


@pytest.fixture
def operator(api: client.ApiClient, namespace: str) -> Iterator[None]:
    from kopf.testing import KopfRunner

    args = operator_args(api, namespace)
    with KopfRunner(args, timeout=60) as runner:
        wait_until_leading(api, args)
        yield
    assert runner.exception is None, runner.output


def get_cluster(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def create_cluster(api: client.ApiClient, namespace: str, name: str, spec: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, jqmcluster(name, spec)
    )


def reasons(api: client.ApiClient, namespace: str) -> set[str]:
    events = client.CoreV1Api(api).list_namespaced_event(namespace).items
    return {e.reason for e in events if e.involved_object.kind == "JqmCluster"}


def test_children_status_drift_scale_and_delete(api: client.ApiClient, namespace: str, operator: None) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    create_cluster(
        api, namespace, "demo", {"replicas": 2, "service": {"type": "ClusterIP"}, "ingress": {"enabled": True}}
    )
    deployment = wait_for(lambda: _read(apps.read_namespaced_deployment, "demo", namespace), what="Deployment")
    assert deployment.metadata.owner_references[0].kind == "JqmCluster"
    for read, name in [
        (core.read_namespaced_config_map, "demo-node-config"),
        (core.read_namespaced_service, "demo"),
        (core.read_namespaced_service, "demo-peers"),
        (client.PolicyV1Api(api).read_namespaced_pod_disruption_budget, "demo"),
        (client.NetworkingV1Api(api).read_namespaced_ingress, "demo"),
    ]:
        assert read(name, namespace).metadata.owner_references[0].name == "demo"
    status = wait_for(
        lambda: get_cluster(api, namespace, "demo").get("status", {}).get("observedGeneration"),
        what="status.observedGeneration",
    )
    assert status == 1
    body = get_cluster(api, namespace, "demo")
    assert {c["type"] for c in body["status"]["conditions"]} == {"Available", "Progressing", "Degraded"}
    assert body["status"]["selector"] == "app.kubernetes.io/instance=demo,app.kubernetes.io/name=jqm-node"
    assert not any(key.startswith("kopf") for key in body["status"])  # kopf's progress is in annotations
    assert "Created" in wait_for(lambda: reasons(api, namespace), what="Created event")

    core.delete_namespaced_service("demo-peers", namespace)
    wait_for(lambda: _read(core.read_namespaced_service, "demo-peers", namespace), what="peer Service recreated")

    client.CustomObjectsApi(api).patch_namespaced_custom_object_scale(
        GROUP, VERSION, namespace, PLURAL, "demo", {"spec": {"replicas": 3}}
    )
    wait_for(lambda: apps.read_namespaced_deployment("demo", namespace).spec.replicas == 3, what="scaled to 3")

    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "demo", {"spec": {"ingress": {"enabled": False}}}
    )
    wait_for(
        lambda: _read(client.NetworkingV1Api(api).read_namespaced_ingress, "demo", namespace) is None,
        what="Ingress removed",
    )

    client.CustomObjectsApi(api).delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo")
    wait_for(lambda: _gone(api, namespace, "demo"), what="JqmCluster deleted (finalizer released)")


def _read(read: Any, name: str, namespace: str) -> Any:
    try:
        return read(name, namespace)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def _gone(api: client.ApiClient, namespace: str, name: str) -> bool:
    try:
        get_cluster(api, namespace, name)
    except ApiException as e:
        return e.status == 404
    return False


def mark_running(api: client.ApiClient, namespace: str, name: str, ip: str) -> None:
    """Writes what a kubelet would: the pod runs, has ``ip`` and is ready."""
    client.CoreV1Api(api).patch_namespaced_pod_status(
        name,
        namespace,
        {
            "status": {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
    )


def node_pods(api: client.ApiClient, namespace: str) -> list[str]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=ids")
    return sorted(p.metadata.name for p in pods.items if not p.metadata.deletion_timestamp)


def test_id_limit_drain_then_evict(
    api: client.ApiClient, namespace: str, operator: None, stand_in_node: ThreadingHTTPServer
) -> None:
    if client.CoreV1Api(api).list_node().items:
        pytest.skip("needs a control plane without kubelets: this test plays the kubelet for its node pod")
    create_cluster(
        api,
        namespace,
        "ids",
        {
            "replicas": 1,
            "service": {"type": "ClusterIP"},
            "idLimit": {"restartThresholdIds": 20, "drainTimeoutSeconds": 600},
        },
    )
    first = wait_for(lambda: node_pods(api, namespace), what="the Deployment's pod (needs kube-controller-manager)")[0]
    mark_running(api, namespace, first, stand_in_node.state["ip"])

    drain = wait_for(
        lambda: get_cluster(api, namespace, "ids").get("status", {}).get("idLimit", {}).get("drain"),
        what="drain recorded in status",
    )
    assert drain["pod"] == first and drain["idsUsed"] == 25
    wait_for(lambda: stand_in_node.drains >= 1, what="POST /node/drain")
    nodes = wait_for(lambda: get_cluster(api, namespace, "ids")["status"].get("nodes"), what="status.nodes")
    assert nodes[0]["pod"] == first

    stand_in_node.state["running"] = 0  # the last job ends: the operator evicts the pod
    restarts = wait_for(
        lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("restarts"), what="restart counted"
    )
    assert restarts == 1
    wait_for(lambda: first not in node_pods(api, namespace), what="drained pod evicted")
    wait_for(
        lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("drain") is None,
        what="drain record cleared once the pod is gone",
    )
    assert {"IdThresholdReached", "NodeRestarted"} <= reasons(api, namespace)
    assert stand_in_node.drains == 1  # drained once, never repeated


def test_operator_restart_neither_repeats_nor_forgets_a_drain(
    api: client.ApiClient, namespace: str, stand_in_node: ThreadingHTTPServer
) -> None:
    from kopf.testing import KopfRunner

    if client.CoreV1Api(api).list_node().items:
        pytest.skip("needs a control plane without kubelets: this test plays the kubelet for its node pod")
    args = operator_args(api, namespace)
    spec = {"replicas": 1, "service": {"type": "ClusterIP"}, "idLimit": {"restartThresholdIds": 20}}
    with KopfRunner(args, timeout=60) as first_run:
        wait_until_leading(api, args)
        create_cluster(api, namespace, "ids", spec)
        pod = wait_for(lambda: node_pods(api, namespace), what="the Deployment's pod")[0]
        mark_running(api, namespace, pod, stand_in_node.state["ip"])
        wait_for(lambda: stand_in_node.drains >= 1, what="POST /node/drain")
    assert first_run.exception is None
    recorded = get_cluster(api, namespace, "ids")["status"]["idLimit"]["drain"]

    stand_in_node.state["idsUsed"] = 30  # still past the threshold: a forgetful operator would drain again
    with KopfRunner(args, timeout=60) as second_run:
        wait_until_leading(api, args)
        # The new operator's timer has looked at the node once it reports the new count.
        wait_for(
            lambda: get_cluster(api, namespace, "ids")["status"]["nodes"][0].get("idsUsed") == 30,
            what="the restarted operator's first ID-limit check",
        )
        assert get_cluster(api, namespace, "ids")["status"]["idLimit"]["drain"]["startedAt"] == recorded["startedAt"]
        stand_in_node.state["running"] = 0
        wait_for(
            lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("restarts"), what="restart counted"
        )
    assert second_run.exception is None
    assert stand_in_node.drains == 1
