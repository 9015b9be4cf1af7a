"""The operator's handlers against a real API server, run in-process with kopf's KopfRunner.

Skipped (with the reason) when no cluster is reachable. What is the API server's business is checked
here: owner references, server-side apply and its refusals, Secrets, RBAC objects, status. The ID-limit
and drain-recovery tests play the kubelet: their node pods select no existing node (so no kubelet runs
them), the test writes the pod's status (Running, a 127.0.0.x IP, Ready) and answers its management port
from a stand-in HTTP server on that loopback address.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.operator.kubetest import (
    connect,
    install_crds,
    jqmcluster,
    operator_args,
    wait_until_leading,
)
from tests.waiting import wait_until

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


def events(api: client.ApiClient, namespace: str) -> list[Any]:
    return [
        e
        for e in client.CoreV1Api(api).list_namespaced_event(namespace).items
        if e.involved_object.kind == "JqmCluster"
    ]


def reasons(api: client.ApiClient, namespace: str) -> set[str]:
    return {e.reason for e in events(api, namespace)}


def secret_values(api: client.ApiClient, namespace: str, name: str) -> dict[str, str]:
    data = client.CoreV1Api(api).read_namespaced_secret(name, namespace).data or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


CHILDREN = [
    ("ConfigMap", "demo-node-config"),
    ("ConfigMap", "demo-id-ledger"),
    ("Secret", "demo-auth"),
    ("ServiceAccount", "demo-node"),
    ("Role", "demo-node"),
    ("RoleBinding", "demo-node"),
    ("Service", "demo"),
    ("Service", "demo-peers"),
    ("PodDisruptionBudget", "demo"),
    ("Deployment", "demo"),
]


def reader(api: client.ApiClient, kind: str) -> tuple[Any, Any]:
    """(read, delete) of a kind, namespaced."""
    core, apps, rbac = client.CoreV1Api(api), client.AppsV1Api(api), client.RbacAuthorizationV1Api(api)
    policy, net = client.PolicyV1Api(api), client.NetworkingV1Api(api)
    calls = {
        "ConfigMap": (core.read_namespaced_config_map, core.delete_namespaced_config_map),
        "Secret": (core.read_namespaced_secret, core.delete_namespaced_secret),
        "ServiceAccount": (core.read_namespaced_service_account, core.delete_namespaced_service_account),
        "Service": (core.read_namespaced_service, core.delete_namespaced_service),
        "Role": (rbac.read_namespaced_role, rbac.delete_namespaced_role),
        "RoleBinding": (rbac.read_namespaced_role_binding, rbac.delete_namespaced_role_binding),
        "PodDisruptionBudget": (
            policy.read_namespaced_pod_disruption_budget,
            policy.delete_namespaced_pod_disruption_budget,
        ),
        "Deployment": (apps.read_namespaced_deployment, apps.delete_namespaced_deployment),
        "Ingress": (net.read_namespaced_ingress, net.delete_namespaced_ingress),
        "NetworkPolicy": (net.read_namespaced_network_policy, net.delete_namespaced_network_policy),
    }
    return calls[kind]


def test_children_status_drift_scale_and_delete(api: client.ApiClient, namespace: str, operator: None) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    create_cluster(
        api,
        namespace,
        "demo",
        {
            "replicas": 2,
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": True, "className": "none"},
            "networkPolicy": {"enabled": True},
        },
    )
    deployment = wait_until(
        lambda: _read(apps.read_namespaced_deployment, "demo", namespace), what="Deployment", timeout=60, every=0.5
    )
    assert deployment.metadata.owner_references[0].kind == "JqmCluster"
    for kind, name in [*CHILDREN, ("Ingress", "demo"), ("NetworkPolicy", "demo")]:
        child = wait_until(
            lambda kind=kind, name=name: _read(reader(api, kind)[0], name, namespace),
            what=f"{kind} {name}",
            timeout=60,
            every=0.5,
        )
        owner = child.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.controller) == ("JqmCluster", "demo", True), (kind, name)
    status = wait_until(
        lambda: get_cluster(api, namespace, "demo").get("status", {}).get("observedGeneration"),
        what="status.observedGeneration",
        timeout=60,
        every=0.5,
    )
    assert status == 1
    body = get_cluster(api, namespace, "demo")
    assert {c["type"] for c in body["status"]["conditions"]} == {
        "Available",
        "Progressing",
        "Degraded",
        "AuthenticationDisabled",
    }
    assert body["status"]["selector"] == "app.kubernetes.io/instance=demo,app.kubernetes.io/name=jqm-node"
    assert not any(key.startswith("kopf") for key in body["status"])  # kopf's progress is in annotations
    wait_until(lambda: "Created" in reasons(api, namespace), what="Created event", timeout=60, every=0.5)

    core.delete_namespaced_service("demo-peers", namespace)
    wait_until(
        lambda: _read(core.read_namespaced_service, "demo-peers", namespace),
        what="peer Service recreated",
        timeout=60,
        every=0.5,
    )

    client.CustomObjectsApi(api).patch_namespaced_custom_object_scale(
        GROUP, VERSION, namespace, PLURAL, "demo", {"spec": {"replicas": 3}}
    )
    wait_until(
        lambda: apps.read_namespaced_deployment("demo", namespace).spec.replicas == 3,
        what="scaled to 3",
        timeout=60,
        every=0.5,
    )

    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "demo", {"spec": {"ingress": {"enabled": False}, "networkPolicy": None}}
    )
    wait_until(
        lambda: _read(client.NetworkingV1Api(api).read_namespaced_ingress, "demo", namespace) is None,
        what="Ingress removed",
        timeout=60,
        every=0.5,
    )
    wait_until(
        lambda: _read(client.NetworkingV1Api(api).read_namespaced_network_policy, "demo", namespace) is None,
        what="NetworkPolicy removed",
        timeout=60,
        every=0.5,
    )

    client.CustomObjectsApi(api).delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo")
    wait_until(
        lambda: _gone(api, namespace, "demo"), what="JqmCluster deleted (finalizer released)", timeout=60, every=0.5
    )


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


NO_KUBELET = {"jqm-tests.example/no-such-node": "true"}
"""A node selector no node matches: the scheduler never binds the pod, so no kubelet runs it or writes its
status, and the test can play the kubelet even on a cluster that has kubelets."""


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
    create_cluster(
        api,
        namespace,
        "ids",
        {
            "replicas": 1,
            "service": {"type": "ClusterIP"},
            "idLimit": {"restartThresholdIds": 20, "drainTimeoutSeconds": 600},
            "pod": {"nodeSelector": NO_KUBELET},
        },
    )
    first = wait_until(
        lambda: node_pods(api, namespace),
        what="the Deployment's pod (needs kube-controller-manager)",
        timeout=60,
        every=0.5,
    )[0]
    stand_in_node.token = secret_values(api, namespace, "ids-auth")["management-token"]
    mark_running(api, namespace, first, stand_in_node.state["ip"])

    drain = wait_until(
        lambda: get_cluster(api, namespace, "ids").get("status", {}).get("idLimit", {}).get("drain"),
        what="drain recorded in status",
        timeout=60,
        every=0.5,
    )
    assert drain["pod"] == first and drain["idsUsed"] == 25
    wait_until(lambda: stand_in_node.drains >= 1, what="POST /node/drain", timeout=60, every=0.5)
    assert stand_in_node.posts[0]["authorization"] == f"Bearer {stand_in_node.token}"  # the cluster's own token
    assert stand_in_node.posts[0]["body"] == {"reason": "jqm-operator: ID limit"}
    nodes = wait_until(
        lambda: get_cluster(api, namespace, "ids")["status"].get("nodes"), what="status.nodes", timeout=60, every=0.5
    )
    assert nodes[0]["pod"] == first

    stand_in_node.state["running"] = 0  # the last job ends: the operator evicts the pod
    restarts = wait_until(
        lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("restarts"),
        what="restart counted",
        timeout=60,
        every=0.5,
    )
    assert restarts == 1
    wait_until(lambda: first not in node_pods(api, namespace), what="drained pod evicted", timeout=60, every=0.5)
    wait_until(
        lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("drain") is None,
        what="drain record cleared once the pod is gone",
        timeout=60,
        every=0.5,
    )
    assert {"IdThresholdReached", "NodeRestarted"} <= reasons(api, namespace)
    assert stand_in_node.drains == 1  # drained once, never repeated


def test_operator_restart_neither_repeats_nor_forgets_a_drain(
    api: client.ApiClient, namespace: str, stand_in_node: ThreadingHTTPServer
) -> None:
    from kopf.testing import KopfRunner

    args = operator_args(api, namespace)
    spec = {
        "replicas": 1,
        "service": {"type": "ClusterIP"},
        "idLimit": {"restartThresholdIds": 20},
        "pod": {"nodeSelector": NO_KUBELET},
    }
    with KopfRunner(args, timeout=60) as first_run:
        wait_until_leading(api, args)
        create_cluster(api, namespace, "ids", spec)
        pod = wait_until(lambda: node_pods(api, namespace), what="the Deployment's pod", timeout=60, every=0.5)[0]
        stand_in_node.token = secret_values(api, namespace, "ids-auth")["management-token"]
        mark_running(api, namespace, pod, stand_in_node.state["ip"])
        wait_until(lambda: stand_in_node.drains >= 1, what="POST /node/drain", timeout=60, every=0.5)
    assert first_run.exception is None
    recorded = get_cluster(api, namespace, "ids")["status"]["idLimit"]["drain"]

    stand_in_node.state["idsUsed"] = 30  # still past the threshold: a forgetful operator would drain again
    with KopfRunner(args, timeout=60) as second_run:
        wait_until_leading(api, args)
        # The new operator's timer has looked at the node once it reports the new count.
        wait_until(
            lambda: get_cluster(api, namespace, "ids")["status"]["nodes"][0].get("idsUsed") == 30,
            what="the restarted operator's first ID-limit check",
            timeout=60,
            every=0.5,
        )
        assert get_cluster(api, namespace, "ids")["status"]["idLimit"]["drain"]["startedAt"] == recorded["startedAt"]
        stand_in_node.state["running"] = 0
        wait_until(
            lambda: get_cluster(api, namespace, "ids")["status"]["idLimit"].get("restarts"),
            what="restart counted",
            timeout=60,
            every=0.5,
        )
    assert second_run.exception is None
    assert stand_in_node.drains == 1


def test_a_node_drained_by_someone_else_is_undrained(
    api: client.ApiClient, namespace: str, operator: None, stand_in_node: ThreadingHTTPServer
) -> None:
    stand_in_node.state |= {"idsUsed": 1, "draining": True, "drainReason": "somebody"}
    create_cluster(
        api, namespace, "ids", {"replicas": 1, "service": {"type": "ClusterIP"}, "pod": {"nodeSelector": NO_KUBELET}}
    )
    pod = wait_until(lambda: node_pods(api, namespace), what="the Deployment's pod", timeout=60, every=0.5)[0]
    stand_in_node.token = secret_values(api, namespace, "ids-auth")["management-token"]
    mark_running(api, namespace, pod, stand_in_node.state["ip"])
    wait_until(lambda: stand_in_node.state["draining"] is False, what="POST /node/undrain", timeout=60, every=0.5)
    wait_until(
        lambda: "UnexpectedDrain" in reasons(api, namespace), what="UnexpectedDrain Event", timeout=60, every=0.5
    )
    unexpected = next(e for e in events(api, namespace) if e.reason == "UnexpectedDrain")
    assert unexpected.type == "Warning" and "'somebody'" in unexpected.message
    wait_until(lambda: "DrainRecovered" in reasons(api, namespace), what="DrainRecovered Event", timeout=60, every=0.5)


def condition(api: client.ApiClient, namespace: str, name: str, kind: str) -> dict[str, Any] | None:
    conditions = get_cluster(api, namespace, name).get("status", {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def test_a_service_port_edited_by_hand_is_repaired(api: client.ApiClient, namespace: str, operator: None) -> None:
    core = client.CoreV1Api(api)
    create_cluster(api, namespace, "demo", {"replicas": 1, "service": {"type": "ClusterIP"}})
    wait_until(lambda: _read(core.read_namespaced_service, "demo", namespace), what="Service", timeout=60, every=0.5)
    # What `kubectl edit` does: a whole-object update by another manager. The operator's next apply of
    # port 1789 would make a second port named "http", which the API server refuses (422).
    service = core.read_namespaced_service("demo", namespace)
    service.spec.ports[0].port = 1790
    core.replace_namespaced_service("demo", namespace, service, field_manager="kubectl-edit")
    wait_until(lambda: "ChildRepaired" in reasons(api, namespace), what="ChildRepaired Event", timeout=90, every=0.5)
    ports = wait_until(
        lambda: [p.port for p in core.read_namespaced_service("demo", namespace).spec.ports] == [1789],
        what="port 1789 back, alone",
        timeout=60,
        every=0.5,
    )
    assert ports
    repaired = next(e for e in events(api, namespace) if e.reason == "ChildRepaired")
    assert "Service demo" in repaired.message and "replaced it" in repaired.message
    assert core.read_namespaced_service("demo", namespace).spec.cluster_ip == service.spec.cluster_ip
    # Reconciliation was not wedged: drift elsewhere is still corrected, and nothing stays Degraded.
    apps = client.AppsV1Api(api)
    apps.patch_namespaced_deployment("demo", namespace, {"spec": {"replicas": 3}}, field_manager="kubectl-scale")
    wait_until(
        lambda: apps.read_namespaced_deployment("demo", namespace).spec.replicas == 1,
        what="drift corrected",
        timeout=60,
        every=0.5,
    )
    wait_until(
        lambda: (condition(api, namespace, "demo", "Degraded") or {}).get("reason") != "ApplyFailed",
        what="no apply failure left",
        timeout=60,
        every=0.5,
    )


def test_every_child_deleted_is_recreated(api: client.ApiClient, namespace: str, operator: None) -> None:
    create_cluster(api, namespace, "demo", {"replicas": 1, "service": {"type": "ClusterIP"}})
    for kind, name in CHILDREN:
        wait_until(
            lambda kind=kind, name=name: _read(reader(api, kind)[0], name, namespace),
            what=f"{kind} {name}",
            timeout=60,
            every=0.5,
        )
    old = secret_values(api, namespace, "demo-auth")
    for kind, name in CHILDREN:
        reader(api, kind)[1](name, namespace)
    for kind, name in CHILDREN:
        wait_until(
            lambda kind=kind, name=name: _read(reader(api, kind)[0], name, namespace),
            what=f"{kind} {name} recreated",
            timeout=90,
            every=0.5,
        )
    new = secret_values(api, namespace, "demo-auth")  # a new Secret: new values, never the old ones reused
    assert set(new) == set(old) and all(new[key] != old[key] for key in old)


def test_the_auth_secret_is_made_once_and_never_shown(api: client.ApiClient, namespace: str) -> None:
    from kopf.testing import KopfRunner

    from tests.operator.test_credentials import verifies

    args = operator_args(api, namespace)
    with KopfRunner(args, timeout=60) as runner:
        wait_until_leading(api, args)
        create_cluster(api, namespace, "demo", {"replicas": 1, "service": {"type": "ClusterIP"}})
        create_cluster(api, namespace, "other", {"replicas": 1, "service": {"type": "ClusterIP"}})
        secret = wait_until(
            lambda: _read(client.CoreV1Api(api).read_namespaced_secret, "demo-auth", namespace),
            what="Secret",
            timeout=60,
            every=0.5,
        )
        wait_until(
            lambda: _read(client.CoreV1Api(api).read_namespaced_secret, "other-auth", namespace),
            what="Secret 2",
            timeout=60,
            every=0.5,
        )
        values = secret_values(api, namespace, "demo-auth")
        # Through a few resyncs (every 2 s here) the values stay.
        wait_until(
            lambda: (get_cluster(api, namespace, "demo").get("status") or {}).get("observedGeneration"),
            what="status",
            timeout=60,
            every=0.5,
        )
        ledger = client.CoreV1Api(api).read_namespaced_config_map("demo-id-ledger", namespace)
        # What a node writes, with its own field manager; an address no pod of the cluster has (the real
        # node pods write their own entries meanwhile).
        ledger.data = {**(ledger.data or {}), "192.0.2.5": '{"next":1001}'}
        client.CoreV1Api(api).replace_namespaced_config_map(
            "demo-id-ledger", namespace, ledger, field_manager="jqm-node"
        )
        core = client.CoreV1Api(api)
        core.delete_namespaced_service("demo-peers", namespace)  # a resync is seen when this comes back
        wait_until(
            lambda: _read(core.read_namespaced_service, "demo-peers", namespace), what="a resync", timeout=60, every=0.5
        )
    assert runner.exception is None, runner.output
    assert secret_values(api, namespace, "demo-auth") == values
    assert client.CoreV1Api(api).read_namespaced_secret("demo-auth", namespace).metadata.uid == secret.metadata.uid
    assert core.read_namespaced_config_map("demo-id-ledger", namespace).data["192.0.2.5"] == '{"next":1001}'
    users = yaml.safe_load(values["users.yaml"])["users"]
    assert users[0]["name"] == "admin" and verifies(values["admin-password"], users[0]["passwordHash"])
    other = secret_values(api, namespace, "other-auth")
    assert all(other[key] != values[key] for key in ("admin-password", "cluster-secret", "management-token"))
    told = (
        runner.output + str(get_cluster(api, namespace, "demo")) + " ".join(e.message for e in events(api, namespace))
    )
    for value in (*values.values(), *other.values()):
        assert value not in told
    created = next(
        e for e in events(api, namespace) if e.reason == "AuthSecretCreated" and e.involved_object.name == "demo"
    )
    assert "kubectl get secret demo-auth" in created.message and "base64 -d" in created.message


def test_authentication_off_is_loud(api: client.ApiClient, namespace: str, operator: None) -> None:
    create_cluster(
        api, namespace, "open", {"replicas": 1, "service": {"type": "ClusterIP"}, "auth": {"enabled": False}}
    )
    found = wait_until(
        lambda: condition(api, namespace, "open", "AuthenticationDisabled"), what="condition", timeout=60, every=0.5
    )
    assert (found["status"], found["reason"]) == ("True", "AuthenticationDisabled")
    warning = wait_until(
        lambda: [e for e in events(api, namespace) if e.reason == "AuthenticationDisabled"],
        what="Warning Event",
        timeout=60,
        every=0.5,
    )
    assert warning[0].type == "Warning" and "open" in warning[0].message
