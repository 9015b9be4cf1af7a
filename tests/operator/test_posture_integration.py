"""Kubernetes posture against a real API server: Pod Security "restricted" admits the node and operator
pods, the chart's RBAC is enough for everything the operator does (and no more is needed), and the
management token reaches a node through the API server's pod proxy.

Skipped (with the reason) when no cluster is reachable; the chart parts also need helm.
"""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from jqm_operator.builders import Owner, build_children
from jqm_operator.kube import KubeClusterApi
from jqm_operator.model import parse_spec
from jqm_operator.nodeapi import ManagementTokens, ProxyNodeApi
from jqm_operator.ports import ApiRefused, NodeRef
from jqm_operator.reconcile import apply_children
from tests.operator.kubetest import connect, install_crds, jqmcluster, kubeconfig_path
from tests.operator.test_chart import CHART, HELM, KUBE_VERSION
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
GROUP, VERSION, PLURAL = "jqm.enioka-community.io", "v1alpha1", "jqmclusters"
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


@pytest.fixture(scope="module")
def api() -> client.ApiClient:
    api, why = connect()
    if api is None:
        pytest.skip(why)
    install_crds(api)
    return api


def new_namespace(api: client.ApiClient, labels: dict[str, str] | None = None) -> str:
    name = f"jqm-posture-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name, "labels": labels or {}}})
    return name


@pytest.fixture
def restricted(api: client.ApiClient) -> Iterator[str]:
    name = new_namespace(api, RESTRICTED)
    yield name
    client.CoreV1Api(api).delete_namespace(name)


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = new_namespace(api)
    yield name
    client.CoreV1Api(api).delete_namespace(name)


def owner_in(api: client.ApiClient, namespace: str, spec: dict[str, Any] | None = None) -> Owner:
    """A real JqmCluster (no operator runs here), so that its children's owner reference holds."""
    body = client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, jqmcluster("demo", spec or {"service": {"type": "ClusterIP"}})
    )
    return Owner(name="demo", namespace=namespace, uid=body["metadata"]["uid"])


def admit(api: client.ApiClient, namespace: str, pod_spec: dict[str, Any], name: str) -> None:
    """A dry-run create of a Pod with ``pod_spec``: admission (Pod Security included) runs, nothing is kept."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pod_spec}
    client.CoreV1Api(api).create_namespaced_pod(namespace, pod, dry_run="All")


def test_restricted_namespace_admits_the_node_pods(api: client.ApiClient, restricted: str) -> None:
    spec = {
        "service": {"type": "ClusterIP"},
        "jobDefinitionsFrom": [{"name": "defs"}],
        "auth": {"usersSecretName": "users", "tls": {"secretName": "tls"}},
        "limits": {"workDirSizeLimit": "1Gi"},
    }
    owner = owner_in(api, restricted, spec)
    children = build_children(owner=owner, spec=parse_spec(spec))
    cluster = KubeClusterApi(api_client=api)
    for manifest in children.manifests:
        cluster.apply(manifest)  # the Deployment too: it is the template the ReplicaSet's pods come from
    deployment = client.AppsV1Api(api).read_namespaced_deployment("demo", restricted)
    template = client.ApiClient().sanitize_for_serialization(deployment.spec.template.spec)
    admit(api, restricted, template, "node")
    # The namespace really enforces: the same pod, loosened, is refused.
    loosened = copy.deepcopy(template)
    loosened["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    with pytest.raises(ApiException) as refused:
        admit(api, restricted, loosened, "loose")
    assert refused.value.status == 403 and "violates PodSecurity" in refused.value.body


def rendered_chart(*values: str) -> list[dict[str, Any]]:
    if HELM is None:
        pytest.skip("no helm binary: run `make helm-operator` or set $HELM")
    command = [
        HELM,
        "template",
        "jqm",
        str(CHART),
        "--namespace",
        "jqm-system",
        "--kube-version",
        KUBE_VERSION,
        *values,
    ]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_restricted_namespace_admits_the_chart_pods(api: client.ApiClient, restricted: str) -> None:
    docs = rendered_chart()
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")}
    assert set(pods) == {"jqm-jqm-operator", "jqm-jqm-operator-cleanup"}
    core = client.CoreV1Api(api)
    for name, pod in pods.items():
        core.create_namespaced_service_account(restricted, {"metadata": {"name": pod["serviceAccountName"]}})
        admit(api, restricted, pod, name)


def impersonating(service_account: str, namespace: str) -> client.ApiClient:
    path = kubeconfig_path()
    assert path is not None
    impersonated = config.new_client_from_config(config_file=str(path))
    impersonated.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:{service_account}")
    return impersonated


def test_the_charts_rbac_is_enough_for_everything_the_operator_does(api: client.ApiClient, namespace: str) -> None:
    role = next(
        d for d in rendered_chart() if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "jqm-jqm-operator"
    )
    role["metadata"] = {"name": f"jqm-operator-test-{namespace}"}
    rbac, core = client.RbacAuthorizationV1Api(api), client.CoreV1Api(api)
    rbac.create_cluster_role(role)
    try:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": "operator"}})
        rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": "operator"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role["metadata"]["name"],
                },
                "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": namespace}],
            },
        )
        as_operator = impersonating("operator", namespace)
        cluster = KubeClusterApi(api_client=as_operator)
        spec = {
            "service": {"type": "ClusterIP"},
            "networkPolicy": {"enabled": True},
            "ingress": {"enabled": True, "className": "c"},
        }
        owner = owner_in(api, namespace, spec)
        # Every child, the auth Secret, and the node Role: Kubernetes lets the operator grant only rights it holds.
        outcomes: list[Any] = []

        def applied_cleanly() -> bool:
            outcomes.append(apply_children(api=cluster, owner=owner, spec=parse_spec(spec), previous_checksum=None))
            return not outcomes[-1].failures

        try:
            wait_until(applied_cleanly, what="every child applied with the chart's rights", timeout=20, every=0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}: {outcomes[-1].failures}") from e
        assert rbac.read_namespaced_role("demo-node", namespace).rules[0].resource_names == ["demo-id-ledger"]
        # Repair (PUT), disabled parts (delete), status, the management token.
        live = cluster.get(kind="Service", namespace=namespace, name="demo")
        assert live is not None
        cluster.replace(live)
        assert cluster.delete_if_exists(kind="Ingress", namespace=namespace, name="demo")
        assert cluster.delete_if_exists(kind="NetworkPolicy", namespace=namespace, name="demo")
        cluster.patch_cluster_status(namespace=namespace, name="demo", status={"replicas": 0})
        assert cluster.get_cluster_status(namespace=namespace, name="demo")["replicas"] == 0
        assert ManagementTokens.from_api(as_operator).get(namespace=namespace, cluster="demo")
        # Node pods: list, deletion cost, eviction, replacement. A pod bound to no existing node never runs.
        pod = {
            "metadata": {
                "name": "node-0",
                "labels": {"app.kubernetes.io/name": "jqm-node", "app.kubernetes.io/instance": "demo"},
            },
            "spec": {"nodeName": "nowhere", "containers": [{"name": "c", "image": "jqm-node:latest"}]},
        }
        for name in ("node-0", "node-1"):
            core.create_namespaced_pod(namespace, {**pod, "metadata": {**pod["metadata"], "name": name}})
        pods = cluster.list_pods(namespace=namespace, labels={"app.kubernetes.io/instance": "demo"})
        uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods}
        cluster.merge_patch(
            kind="Pod",
            namespace=namespace,
            name="node-0",
            patch={"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "3"}}},
        )
        assert cluster.evict_pod(namespace=namespace, name="node-0", uid=uids["node-0"])
        assert cluster.delete_pod(namespace=namespace, name="node-1", uid=uids["node-1"])
        # And the impersonation really restricts: what the chart does not grant is refused.
        with pytest.raises(ApiRefused) as refused:
            cluster.delete_if_exists(kind="ConfigMap", namespace=namespace, name="demo-id-ledger")
        assert refused.value.status == 403
    finally:
        rbac.delete_cluster_role(role["metadata"]["name"])


STAND_IN = """
import json, http.server
class Node(http.server.BaseHTTPRequestHandler):
    posts = []
    def do_GET(self):
        self.answer({"ip": "", "draining": False, "posts": Node.posts})
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        Node.posts.append({"path": self.path, "headers": headers, "body": body.decode()})
        self.answer({"draining": True})
    def answer(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
http.server.HTTPServer(("0.0.0.0", 1790), Node).serve_forever()
"""


def test_the_management_token_reaches_a_node_through_the_api_servers_proxy(
    api: client.ApiClient, namespace: str
) -> None:
    if not client.CoreV1Api(api).list_node().items:
        pytest.skip("needs a kubelet to run the stand-in node pod")
    core = client.CoreV1Api(api)
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "demo-auth"}, "stringData": {"management-token": "the-token"}}
    )
    pod = {
        "metadata": {"name": "node"},
        "spec": {
            "containers": [
                {
                    "name": "node",
                    # The node image (it has Python): the local cluster and kind pull nothing, they have it.
                    "image": "jqm-node:latest",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", STAND_IN],
                    "ports": [{"name": "management", "containerPort": 1790}],
                    "readinessProbe": {"tcpSocket": {"port": 1790}, "periodSeconds": 1},
                }
            ]
        },
    }
    core.create_namespaced_pod(namespace, pod)

    def ready() -> str | None:
        status = core.read_namespaced_pod("node", namespace).status
        return status.pod_ip if any(c.type == "Ready" and c.status == "True" for c in status.conditions or []) else None

    ip = wait_until(ready, what="the stand-in node pod ready", timeout=90, every=0.5)
    nodes = ProxyNodeApi(api_client=api, tokens=ManagementTokens.from_api(api))
    target = NodeRef(namespace=namespace, cluster="demo", pod="node", ip=ip)
    nodes.drain(target, reason="jqm-operator: ID limit")
    post = nodes.status(target)["posts"][0]
    assert post["path"] == "/node/drain" and json.loads(post["body"]) == {"reason": "jqm-operator: ID limit"}
    assert post["headers"]["x-jqm-management-token"] == "the-token"
    # Why the token has its own header through the proxy: the API server removes Authorization.
    assert "authorization" not in post["headers"]
