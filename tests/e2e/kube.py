"""What the end-to-end scenarios need from a cluster: objects, kubectl, waiting, and HTTP to nodes."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config

from tests.waiting import wait_until

GROUP, VERSION, PLURAL = "jqm.enioka-community.io", "v1alpha1", "jqmclusters"
NODE_PORT, MANAGEMENT_PORT = 1789, 1790
INGRESS_NAMESPACE, INGRESS_SERVICE = "jqm-ingress", "traefik"
ADMIN_USER, ADMIN_PASSWORD_KEY = "admin", "admin-password"  # in the operator's <cluster>-auth Secret
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}  # every e2e namespace: pods must pass it
T = TypeVar("T")
Auth = tuple[str, str]


E2E_TIMEOUT, E2E_EVERY = 120.0, 0.5
"""How long e2e waits for the cluster by default, and how often it looks (tests.waiting.wait_until)."""


@dataclass
class Http:
    """One request per connection (urllib never reuses one), so load balancers spread them."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def basic(auth: Auth) -> str:
    """The ``Authorization`` value of HTTP Basic, as ``curl -u user:password`` sends it."""
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


def http(method: str, url: str, *, form: dict[str, str] | None = None, data: bytes | None = None,
         headers: dict[str, str] | None = None, auth: Auth | None = None, timeout: float = 30) -> Http:  # fmt: skip
    if auth is not None:
        headers = {"Authorization": basic(auth), **(headers or {})}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Http(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as e:
        return Http(e.code, dict(e.headers), e.read())


@dataclass
class Kube:
    kubeconfig: Path
    kubectl_binary: str
    mode: str  # "local": pod and load-balancer addresses are reachable; "kind": through node ports / forwards
    _api: client.ApiClient = field(init=False)
    _forwards: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._api = config.new_client_from_config(config_file=str(self.kubeconfig))
        self.core = client.CoreV1Api(self._api)
        self.apps = client.AppsV1Api(self._api)
        self.custom = client.CustomObjectsApi(self._api)
        self.networking = client.NetworkingV1Api(self._api)
        self.policy = client.PolicyV1Api(self._api)

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.kubectl_binary, "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin, capture_output=True, text=True, check=check, timeout=180,
        )  # fmt: skip

    # ---------------------------------------------------------------- JqmClusters

    def get_cluster(self, namespace: str, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)

    def create_cluster(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    def patch_cluster(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)

    def admin(self, namespace: str, name: str) -> Auth:
        """The administrator's credential of a JqmCluster, from the ``<name>-auth`` Secret its operator made."""

        def password() -> str | None:
            try:
                secret = self.core.read_namespaced_secret(f"{name}-auth", namespace)
            except client.ApiException as e:
                if e.status == 404:
                    return None
                raise
            value = (secret.data or {}).get(ADMIN_PASSWORD_KEY)
            return base64.b64decode(value).decode() if value else None

        return ADMIN_USER, wait_until(password, what=f"Secret {namespace}/{name}-auth", timeout=60, every=E2E_EVERY)

    def condition(self, namespace: str, name: str, kind: str) -> dict[str, Any] | None:
        status = self.get_cluster(namespace, name).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)

    def wait_available(self, namespace: str, name: str, *, replicas: int, timeout: float = 180) -> dict[str, Any]:
        """Available, not progressing (the rollout is over), every replica ready, and the operator caught up
        with the latest spec."""

        def probe() -> dict[str, Any] | None:
            cluster = self.get_cluster(namespace, name)
            status = cluster.get("status") or {}
            available = self.condition(namespace, name, "Available") or {}
            progressing = self.condition(namespace, name, "Progressing") or {}
            ready = (
                available.get("status") == "True"
                and progressing.get("status") == "False"
                and status.get("observedGeneration") == cluster["metadata"]["generation"]
                and status.get("readyReplicas") == replicas
                and len(self.ready_pods(namespace, name)) == replicas
            )
            return cluster if ready else None

        what = f"JqmCluster {namespace}/{name} Available with {replicas} ready node(s)"
        return wait_until(probe, what=what, timeout=timeout, every=E2E_EVERY)

    # ---------------------------------------------------------------- pods and addresses

    def pods(self, namespace: str, name: str) -> list[client.V1Pod]:
        selector = f"app.kubernetes.io/instance={name},app.kubernetes.io/name=jqm-node"
        return self.core.list_namespaced_pod(namespace, label_selector=selector).items

    def ready_pods(self, namespace: str, name: str) -> list[client.V1Pod]:
        def ready(pod: client.V1Pod) -> bool:
            conditions = pod.status.conditions or []
            return pod.metadata.deletion_timestamp is None and any(
                c.type == "Ready" and c.status == "True" for c in conditions
            )

        return sorted((p for p in self.pods(namespace, name) if ready(p)), key=lambda p: p.status.pod_ip)

    def service_url(self, namespace: str, name: str) -> str:
        if self.mode == "kind":
            from tests.e2e.kind import service_url

            return service_url(self.kubeconfig, namespace, name)

        def address() -> str | None:
            service = self.core.read_namespaced_service(name, namespace)
            ingress = (service.status.load_balancer.ingress or []) if service.status.load_balancer else []
            return f"http://{ingress[0].ip}:{service.spec.ports[0].port}" if ingress else None

        return wait_until(
            address, what=f"a load-balancer address for Service {namespace}/{name}", timeout=60, every=E2E_EVERY
        )

    def wait_balanced_to_ready_pods(self, namespace: str, name: str, *, answers: int = 12) -> None:
        """Until ``answers`` health calls in a row through the load balancer come from ready pods only:
        a new Service, a new ready pod or a pod that just started terminating reach kube-proxy's rules
        a moment after the API says so (a real cluster's propagation delay)."""

        def converged() -> bool:
            ready = {pod.status.pod_ip for pod in self.ready_pods(namespace, name)}
            url = f"{self.service_url(namespace, name)}/ws/simple/localnode/health"
            for _ in range(answers):
                try:
                    answer = http("GET", url)
                except OSError:  # not programmed yet: the load balancer closed the connection
                    return False
                if answer.status != 200 or answer.text.rsplit(" ", 1)[-1] not in ready:
                    return False
            return True

        wait_until(
            converged,
            what=f"the load balancer of {namespace}/{name} to reach ready pods only",
            timeout=60,
            every=E2E_EVERY,
        )

    def ingress_url(self) -> str:
        """Where the cluster's ingress controller (Traefik, from cluster/addons) answers on port 80."""
        return self.service_url(INGRESS_NAMESPACE, INGRESS_SERVICE)

    def pod_url(self, pod: client.V1Pod, port: int = NODE_PORT) -> str:
        """A URL that reaches one node pod directly (its IP locally, a port-forward on kind)."""
        if self.mode != "kind":
            return f"http://{pod.status.pod_ip}:{port}"
        forward = subprocess.Popen(
            [self.kubectl_binary, "--kubeconfig", str(self.kubeconfig), "port-forward", "-n",
             pod.metadata.namespace, f"pod/{pod.metadata.name}", f":{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._forwards.append(forward)
        assert forward.stdout is not None
        line = forward.stdout.readline().decode()  # "Forwarding from 127.0.0.1:PORT -> 1789"
        return f"http://{line.split()[2].split('->')[0].strip()}"

    def node_status(self, pod: client.V1Pod) -> dict[str, Any] | None:
        """``GET /node/status`` on the pod's management port (never behind a Service); None if it does not answer."""
        try:
            answer = http("GET", f"{self.pod_url(pod, MANAGEMENT_PORT)}/node/status", timeout=5)
        except OSError:
            return None
        return answer.json() if answer.status == 200 else None

    def close(self) -> None:
        for forward in self._forwards:
            forward.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                forward.wait(timeout=10)
        self._api.close()


@contextlib.contextmanager
def namespace(kube: Kube, name: str) -> Iterator[str]:
    """A namespace for one scenario, deleted (with everything in it) afterwards. Pod Security Admission
    enforces "restricted" in it, so every scenario proves its pods pass that profile."""
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=RESTRICTED)))
    try:
        yield name
    finally:
        kube.core.delete_namespace(name)
