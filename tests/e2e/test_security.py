"""Safe to expose (issue 8), through the load balancer as an attacker on the client port would try it.

One cluster of two nodes (with a read-only user from a Secret of the user's own) is shared by the
module; two more clusters, one in its namespace and one elsewhere (with authentication off), show that
no cluster reaches another's jobs. Every earlier exploit must fail: unauthenticated calls, parameter
values run as shell code, drains through the client Service, cross-cluster reads and kills, and
clients that hold connections open by sending their headers slowly.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes import client

from jqm_node.auth.passwords import hash_password
from jqm_node.ids import ip_from_id
from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import E2E_EVERY, E2E_TIMEOUT, MANAGEMENT_PORT, Auth, Http, Kube, http
from tests.waiting import wait_until

READER = ("auditor", "read-only-password")
FINAL = ("ENDED", "CRASHED", "CANCELLED")
SLOW_CLIENTS = 20
DROP_BOUND_SECONDS = 90  # generous: the nodes' header timeout is 10 s; no timing beyond "it closes"


@dataclass(frozen=True)
class Cluster:
    namespace: str
    name: str
    url: str
    admin: Auth | None

    def call(self, method: str, path: str, *, auth: Auth | None = None, **kwargs: Any) -> Http:
        return http(method, f"{self.url}{path}", auth=auth or self.admin, **kwargs)


def users_secret(kube: Kube) -> Callable[[str], None]:
    """A ``prepare`` hook: the user's own Secret with a read-only user (upstream's "client read only")."""
    users = {"users": [{"name": READER[0], "passwordHash": hash_password(READER[1]), "roles": ["client read only"]}]}

    def create(namespace: str) -> None:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name="more-users"),
                               string_data={"users.yaml": yaml.safe_dump(users)})  # fmt: skip
        kube.core.create_namespaced_secret(namespace, body)

    return create


@pytest.fixture(scope="module")
def secured(kube: Kube, make_module_cluster: MakeCluster) -> Cluster:
    ns, name = make_module_cluster(replicas=2, prepare=users_secret(kube), auth={"usersSecretName": "more-users"})
    return Cluster(ns, name, kube.service_url(ns, name), kube.admin(ns, name))


@pytest.fixture(scope="module")
def neighbours(kube: Kube, make_module_cluster: MakeCluster, secured: Cluster) -> Iterator[list[Cluster]]:
    """Another cluster in the same namespace, and one in another namespace with authentication off."""
    ns, name = make_module_cluster(replicas=1, name="other", namespace=secured.namespace)
    same_namespace = Cluster(ns, name, kube.service_url(ns, name), kube.admin(ns, name))
    ns, name = make_module_cluster(replicas=1, auth={"enabled": False})
    elsewhere = Cluster(ns, name, kube.service_url(ns, name), None)
    yield [same_namespace, elsewhere]


def enqueue(cluster: Cluster, application: str, value: str, *, auth: Auth | None = None) -> int:
    form = {"applicationname": application, "parameterNames": "p1", "parameterValues": value}
    answer = cluster.call("POST", "/ws/simple/ji", form=form, auth=auth)
    assert answer.status == 200, answer
    return int(answer.text)


def state_of(cluster: Cluster, job_id: int) -> str:
    return cluster.call("GET", f"/ws/simple/status?id={job_id}").text


def test_authentication_is_on_by_default(secured: Cluster) -> None:
    health = http("GET", f"{secured.url}/ws/simple/localnode/health")
    assert health.status == 200 and health.text.startswith("Pollers are polling"), health
    for method, path in [("POST", "/ws/simple/ji"), ("GET", "/ws/client/ji"), ("GET", "/ws/simple/enginelog"),
                         ("GET", "/ws/client/q")]:  # fmt: skip
        anonymous = http(
            method, f"{secured.url}{path}", form={"applicationname": "DemoEcho"} if method == "POST" else None
        )
        assert anonymous.status == 401, (path, anonymous)
        assert anonymous.headers.get("WWW-Authenticate", "").startswith("Basic"), anonymous.headers
    wrong = http("GET", f"{secured.url}/ws/client/ji", auth=("admin", "not-the-password"))
    assert wrong.status == 401, wrong

    job_id = enqueue(secured, "DemoEcho", "hello")
    read = http("GET", f"{secured.url}/ws/client/ji/{job_id}", auth=READER, headers={"Accept": "application/json"})
    assert read.status == 200 and read.json()["id"] == job_id, read
    refused = http("POST", f"{secured.url}/ws/simple/ji", form={"applicationname": "DemoEcho"}, auth=READER)
    assert refused.status == 403 and "<errorDto>" in refused.text, refused
    kill = http("POST", f"{secured.url}/ws/client/ji/killed/{job_id}", auth=READER)
    assert kill.status == 403, kill


@pytest.mark.parametrize("value", ["$(id)", "; touch /tmp/pwned", "`id`", "x && touch /tmp/pwned", "a | id"])
def test_parameter_values_are_printed_never_run(kube: Kube, secured: Cluster, value: str) -> None:
    job_id = enqueue(secured, "DemoEcho", value)
    wait_until(
        lambda: state_of(secured, job_id) in FINAL, what=f"job {job_id} to end", timeout=E2E_TIMEOUT, every=E2E_EVERY
    )
    assert state_of(secured, job_id) == "ENDED"
    stdout = secured.call("GET", f"/ws/simple/stdout?id={job_id}").text
    assert stdout.endswith(f"job {job_id}: {value}\n"), stdout
    assert "uid=" not in stdout
    owner = next(p for p in kube.ready_pods(secured.namespace, secured.name) if p.status.pod_ip == ip_from_id(job_id))
    probe = kube.kubectl("exec", "-n", secured.namespace, owner.metadata.name, "--", "test", "-e", "/tmp/pwned",
                         check=False)  # fmt: skip
    assert probe.returncode == 1, "the file a value asked for was not created"


def test_nodes_cannot_be_drained_through_the_client_service(kube: Kube, secured: Cluster) -> None:
    service = kube.core.read_namespaced_service(secured.name, secured.namespace)
    assert [(p.name, p.port) for p in service.spec.ports] == [("http", 1789)], "no management port in the Service"
    for method, path in [("POST", "/node/drain"), ("POST", "/node/undrain"), ("GET", "/node/status"),
                         ("GET", "/metrics")]:  # fmt: skip
        for auth in (None, secured.admin):
            answer = http(method, f"{secured.url}{path}", auth=auth, data=b"" if method == "POST" else None)
            assert answer.status in (401, 404), (path, auth is not None, answer)
            if auth is not None:
                assert answer.status == 404, (path, answer)  # the route does not exist on the client port
    host = urlsplit(secured.url).hostname
    with pytest.raises(OSError), socket.create_connection((host, MANAGEMENT_PORT), timeout=5):
        pass  # the load balancer listens on the Service's port only
    for pod in kube.ready_pods(secured.namespace, secured.name):
        unauthorised = http("POST", f"{kube.pod_url(pod, MANAGEMENT_PORT)}/node/drain", data=b"")
        assert unauthorised.status == 401, unauthorised  # on the pod network: the operator's token only
        assert (kube.node_status(pod) or {}).get("draining") is False
    assert len(kube.ready_pods(secured.namespace, secured.name)) == 2


def test_clusters_never_reach_each_others_jobs(secured: Cluster, neighbours: list[Cluster]) -> None:
    """A job ID of another cluster (same namespace or not) through this cluster's load balancer: 410 at
    once, for reads and for a kill; the job itself is untouched."""
    for other in neighbours:
        assert_out_of_reach(secured, other)


def assert_out_of_reach(cluster: Cluster, other: Cluster) -> None:
    job_id = enqueue(other, "Sleep", "300")
    wait_until(
        lambda: state_of(other, job_id) == "RUNNING",
        what=f"job {job_id} of {other.namespace}/{other.name} running",
        timeout=E2E_TIMEOUT,
        every=E2E_EVERY,
    )
    for method, path in [("GET", f"/ws/client/ji/{job_id}"), ("GET", f"/ws/simple/status?id={job_id}"),
                         ("GET", f"/ws/simple/stdout?id={job_id}"), ("POST", f"/ws/client/ji/killed/{job_id}"),
                         ("DELETE", f"/ws/client/ji/crashed/{job_id}")]:  # fmt: skip
        answer = cluster.call(method, path, data=b"" if method == "POST" else None)
        assert answer.status == 410, (other.name, path, answer)
        assert "left the cluster" in answer.text, answer
    assert state_of(other, job_id) == "RUNNING", f"the job of {other.namespace}/{other.name} is untouched"
    assert other.call("POST", f"/ws/client/ji/killed/{job_id}", data=b"").status == 204


def test_slow_header_clients_are_dropped(secured: Cluster) -> None:
    """Connections that never finish their headers are closed by the nodes; the cluster still answers."""
    address = urlsplit(secured.url)
    clients = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(SLOW_CLIENTS)]
    try:
        for slow in clients:
            slow.sendall(b"GET /ws/simple/localnode/health HTTP/1.1\r\nHost: jqm\r\nX-Slow: ")
        health = http("GET", f"{secured.url}/ws/simple/localnode/health")
        assert health.status == 200, health
        deadline = time.monotonic() + DROP_BOUND_SECONDS
        open_ones = list(clients)
        while open_ones and time.monotonic() < deadline:
            slow = open_ones[0]
            slow.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = slow.recv(4096)
            except TimeoutError:
                break
            except ConnectionResetError:
                data = b""
            if data == b"":
                open_ones.pop(0)
        assert not open_ones, f"{len(open_ones)} slow client(s) still connected after {DROP_BOUND_SECONDS}s"
    finally:
        for slow in clients:
            slow.close()


def test_authentication_off_is_loud(kube: Kube, neighbours: list[Cluster]) -> None:
    open_cluster = neighbours[1]
    assert open_cluster.admin is None
    enqueue(open_cluster, "DemoEcho", "anyone may")  # no credential at all
    condition = kube.condition(open_cluster.namespace, open_cluster.name, "AuthenticationDisabled") or {}
    assert condition.get("status") == "True", condition
    events = kube.core.list_namespaced_event(open_cluster.namespace).items
    warnings = [e for e in events if e.reason == "AuthenticationDisabled"]
    assert warnings and all(e.type == "Warning" for e in warnings), [(e.reason, e.type) for e in events]
