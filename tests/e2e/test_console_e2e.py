"""The web console of a real JqmCluster: its page through the load balancer and through the ingress (with
the Host the cluster's Ingress routes), and its data calls with the admin password of the cluster's
Secret: who the user is, and every node's status gathered by the node the load balancer picked."""

from __future__ import annotations

import base64
import json
import uuid

from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import E2E_EVERY, Http, Kube, http
from tests.waiting import wait_until

CSP_PARTS = ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'")


def assert_console_page(answer: Http) -> None:
    assert answer.status == 200, answer
    assert answer.headers["Content-Type"].startswith("text/html")
    assert all(part in answer.headers["Content-Security-Policy"] for part in CSP_PARTS)
    assert '<script type="module" src="app.js">' in answer.text


def test_console_through_the_load_balancer_and_the_ingress(kube: Kube, make_cluster: MakeCluster) -> None:
    host = f"console-{uuid.uuid4().hex[:8]}.e2e.test"
    ns, name = make_cluster(replicas=2, ingress={"enabled": True, "className": "traefik", "host": host})
    service = kube.service_url(ns, name)
    assert_console_page(http("GET", f"{service}/console/"))
    script = http("GET", f"{service}/console/app.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")

    def through_ingress() -> Http | None:
        answer = http("GET", f"{kube.ingress_url()}/console/", headers={"Host": host})
        return None if answer.status == 404 else answer  # until the controller has the Ingress

    assert_console_page(
        wait_until(through_ingress, what="the console through the ingress", timeout=90, every=E2E_EVERY)
    )

    secret = kube.core.read_namespaced_secret(f"{name}-auth", ns)
    password = base64.b64decode(secret.data["admin-password"]).decode()
    authorization = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    assert http("GET", f"{service}/ws/cluster/nodes").status == 401  # the data needs the credential
    me = http("GET", f"{service}/ws/admin/me", headers={"Authorization": authorization}).json()
    assert me["login"] == "admin" and me["may"]["node:read"] is True
    nodes = http("GET", f"{service}/ws/cluster/nodes", headers={"Authorization": authorization}).json()["nodes"]
    pod_ips = sorted(pod.status.pod_ip for pod in kube.ready_pods(ns, name))
    assert sorted(node["ip"] for node in nodes) == pod_ips, json.dumps(nodes)
    assert all(node["reachable"] and node["idCapacity"] > 0 for node in nodes)
