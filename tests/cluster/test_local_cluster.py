"""The local cluster for real: control plane, kubelet on containerd, kube-proxy, CoreDNS and the load
balancers. Requests go to loopback, the node address and the pods' own addresses on the bridge only."""

from __future__ import annotations

import ipaddress
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from jqm_localcluster import cni_mac, controlplane, layout, podnet
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

WAIT = 90.0


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def python_pod(name: str, script: str, **spec: Any) -> dict:
    """A pod running ``sh -c script`` in the node image (it has Python; nothing can be pulled here)."""
    container = {"name": "main", "image": layout.NODE_IMAGE, "imagePullPolicy": "Never"}
    container["command"] = ["sh", "-c", script]
    container.update(spec.pop("container", {}))
    return {"metadata": {"name": name, "labels": spec.pop("labels", {})}, "spec": {"containers": [container], **spec}}


def pod_phase(core: client.CoreV1Api, ns: str, name: str, phase: str) -> client.V1Pod | None:
    pod = core.read_namespaced_pod(name, ns)
    return pod if pod.status.phase == phase else None


def pod_ready(core: client.CoreV1Api, ns: str, name: str) -> client.V1Pod | None:
    pod = core.read_namespaced_pod(name, ns)
    conditions = {c.type: c.status for c in pod.status.conditions or []}
    return pod if conditions.get("Ready") == "True" else None


def test_control_plane_is_pinned_version_and_ready(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().git_version == "v1.33.5"
    state = layout.StateDir.default()
    ports = controlplane.load_ports(state)
    assert ports is not None
    assert controlplane.probe(f"{ports.server}/readyz", controlplane.admin_ssl_context(state.pki))


def test_node_is_ready_with_a_lease(api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    node = core.read_node(layout.NODE_NAME)
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    assert not node.spec.taints
    leases = client.CoordinationV1Api(api_client)

    def lease() -> client.V1Lease | None:  # the kubelet creates it within seconds of registering
        found = leases.list_namespaced_lease("kube-node-lease", field_selector=f"metadata.name={layout.NODE_NAME}")
        return found.items[0] if found.items else None

    assert wait_until(lease, what="the node's lease", timeout=60, every=0.5).spec.holder_identity == layout.NODE_NAME


def test_pod_has_its_own_address_volumes_env_and_full_status(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "cfg"}, "data": {"greeting": "hello"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "sec"}, "stringData": {"pw": "s3cret"}})
    script = (
        "echo starting web && mkdir -p /tmp/www && cd /tmp/www && cat /etc/cfg/greeting > greeting"
        " && cat /etc/sec/pw > pw"
        " && echo -n $POD_IP > ip && hostname > hostname && ls /scratch > scratch"
        " && cat /var/run/secrets/kubernetes.io/serviceaccount/namespace > ns"
        " && exec python3 -m http.server 8080"
    )
    pod = python_pod(
        "web",
        script,
        container={
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/ip", "port": "http"}, "periodSeconds": 1},
            "volumeMounts": [
                {"name": "cfg", "mountPath": "/etc/cfg"},
                {"name": "sec", "mountPath": "/etc/sec", "readOnly": True},
                {"name": "scratch", "mountPath": "/scratch"},
            ],
        },
        volumes=[
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "sec", "secret": {"secretName": "sec"}},
            {"name": "scratch", "emptyDir": {}},
        ],
    )
    core.create_namespaced_pod(namespace, pod)
    ready = wait_until(lambda: pod_ready(core, namespace, "web"), what="pod Ready", timeout=WAIT, every=0.5)
    ip = ready.status.pod_ip
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(layout.POD_CIDR)
    assert [a.ip for a in ready.status.pod_ips] == [ip]
    assert ready.status.host_ip == layout.NODE_IP
    assert ready.status.phase == "Running"
    assert {c.type for c in ready.status.conditions} >= {"PodScheduled", "Initialized", "ContainersReady", "Ready"}
    (status,) = ready.status.container_statuses
    assert status.ready and status.started and status.restart_count == 0 and status.state.running
    files = {f: http_get(f"http://{ip}:8080/{f}").strip() for f in ("greeting", "pw", "ip", "hostname", "ns")}
    assert files == {"greeting": "hello", "pw": "s3cret", "ip": ip, "hostname": "web", "ns": namespace}
    assert "starting web" in core.read_namespaced_pod_log("web", namespace)  # API server -> kubelet -> CRI


def test_endpoint_slices_dns_and_load_balancer(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    template = python_pod(
        "",
        "hostname > /tmp/index.html && cd /tmp && exec python3 -m http.server 8080",
        labels={"app": "web"},
        container={"readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}},
        terminationGracePeriodSeconds=5,
    )
    del template["metadata"]["name"]
    deployment = {
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
    }
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, deployment)
    service = {
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 8080, "targetPort": 8080}]},
    }
    core.create_namespaced_service(namespace, service)
    discovery = client.DiscoveryV1Api(api_client)

    def ready_endpoints() -> list[str]:
        slices = discovery.list_namespaced_endpoint_slice(namespace, label_selector="kubernetes.io/service-name=web")
        eps = [e for s in slices.items for e in s.endpoints or [] if e.conditions.ready]
        return sorted(e.addresses[0] for e in eps) if len(eps) == 2 else []

    wait_until(ready_endpoints, what="two ready endpoints", timeout=WAIT, every=0.5)
    ingress = wait_until(
        lambda: core.read_namespaced_service("web", namespace).status.load_balancer.ingress,
        what="LB address",
        timeout=WAIT,
        every=0.5,
    )
    lb_ip = ingress[0].ip
    assert ipaddress.ip_address(lb_ip).is_loopback
    seen: set[str] = set()

    def both_pods_answer() -> bool:
        """Eventually: kube-proxy programs a new Service within a second or so; until then the load
        balancer's connection to the cluster IP fails and it closes the client's."""
        try:
            seen.add(http_get(f"http://{lb_ip}:8080/").strip())  # a new connection each time: kube-proxy picks
        except OSError:
            return False
        return len(seen) == 2

    wait_until(both_pods_answer, what="answers from both pods through the load balancer", timeout=30, every=0.5)

    cluster_ip = core.read_namespaced_service("web", namespace).spec.cluster_ip
    assert http_get(f"http://{cluster_ip}:8080/").strip() in seen  # kube-proxy serves the host too

    script = (
        "import socket, urllib.request; print(socket.gethostbyname('web'));"
        " print(urllib.request.urlopen('http://web:8080/', timeout=5).read().decode().strip())"
    )
    client_pod = python_pod("client", f'exec python3 -c "{script}"', restartPolicy="Never")
    core.create_namespaced_pod(namespace, client_pod)
    wait_until(lambda: pod_phase(core, namespace, "client", "Succeeded"), what="client done", timeout=WAIT, every=0.5)
    resolved, answer = core.read_namespaced_pod_log("client", namespace).split()
    assert resolved == cluster_ip  # cluster DNS
    assert answer in seen  # pod -> cluster IP -> a ready endpoint


def test_headless_service_publishing_not_ready_addresses_resolves_to_every_pod(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    """As the node's peer discovery needs: every pod, ready or not, is an A record of the headless name."""
    template = python_pod(
        "",
        "exec sleep 3600",
        labels={"app": "peers"},
        container={"readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}},
        terminationGracePeriodSeconds=1,
    )
    del template["metadata"]["name"]
    deployment = {
        "metadata": {"name": "peers"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "peers"}}, "template": template},
    }
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, deployment)
    service = {
        "metadata": {"name": "peers"},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": {"app": "peers"},
                 "ports": [{"port": 1789}]},
    }  # fmt: skip
    core.create_namespaced_service(namespace, service)

    def running_ips() -> list[str]:
        pods = core.list_namespaced_pod(namespace, label_selector="app=peers").items
        ips = sorted(p.status.pod_ip for p in pods if p.status.phase == "Running" and p.status.pod_ip)
        return ips if len(ips) == 2 else []

    ips = wait_until(running_ips, what="two running (never ready) pods", timeout=WAIT, every=0.5)
    script = (
        "import socket, time\n"
        "for _ in range(60):\n"
        "    found = sorted({a[4][0] for a in socket.getaddrinfo('peers', 1789, socket.AF_INET)})\n"
        "    if len(found) == 2: break\n"
        "    time.sleep(1)\n"
        "print(' '.join(found))\n"
    )
    resolver = python_pod("resolver", f'exec python3 -c "{script}"', restartPolicy="Never")
    core.create_namespaced_pod(namespace, resolver)
    wait_until(
        lambda: pod_phase(core, namespace, "resolver", "Succeeded"), what="resolver done", timeout=WAIT, every=0.5
    )
    assert core.read_namespaced_pod_log("resolver", namespace).split() == ips


def test_pod_reaches_the_api_server_with_its_service_account_token(core: client.CoreV1Api, namespace: str) -> None:
    """kubernetes.default through kube-proxy, the mounted CA and token: the API server knows who calls."""
    script = (
        "import json, ssl, urllib.request, urllib.error\n"
        "sa = '/var/run/secrets/kubernetes.io/serviceaccount'\n"
        "ctx = ssl.create_default_context(cafile=sa + '/ca.crt')\n"
        "token = open(sa + '/token').read()\n"
        "req = urllib.request.Request('https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets',"
        " headers={'Authorization': 'Bearer ' + token})\n"
        "try:\n"
        "    urllib.request.urlopen(req, context=ctx, timeout=10)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code, json.load(e)['message'])\n"
    )
    caller = python_pod("caller", f'exec python3 -c "{script}"', restartPolicy="Never")
    core.create_namespaced_pod(namespace, caller)
    wait_until(lambda: pod_phase(core, namespace, "caller", "Succeeded"), what="caller done", timeout=WAIT, every=0.5)
    answer = core.read_namespaced_pod_log("caller", namespace)
    assert answer.startswith("403 ") and f"system:serviceaccount:{namespace}:default" in answer, answer


def test_restart_policies_and_exit_codes(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, python_pod("fails", "exit 3", restartPolicy="Never"))
    failed = wait_until(
        lambda: pod_phase(core, namespace, "fails", "Failed"), what="pod Failed", timeout=WAIT, every=0.5
    )
    assert failed.status.container_statuses[0].state.terminated.exit_code == 3

    once = "test -f /data/ran && exit 0; touch /data/ran; exit 1"
    pod = python_pod(
        "retries",
        once,
        restartPolicy="OnFailure",
        container={"volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        volumes=[{"name": "data", "emptyDir": {}}],
    )
    core.create_namespaced_pod(namespace, pod)
    done = wait_until(
        lambda: pod_phase(core, namespace, "retries", "Succeeded"),
        what="pod Succeeded after one restart",
        timeout=WAIT,
        every=0.5,
    )
    status = done.status.container_statuses[0]
    assert status.restart_count == 1  # exit 1, restarted once, then exit 0
    assert status.state.terminated.exit_code == 0


def test_graceful_deletion_signals_then_removes_everything(
    core: client.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    tmp_path.chmod(0o777)  # the image's user (10001) writes there
    script = "trap 'echo term > /out/signal; exit 0' TERM; while true; do sleep 0.2; done"
    pod = python_pod(
        "sleeper",
        script,
        terminationGracePeriodSeconds=10,
        container={"volumeMounts": [{"name": "out", "mountPath": "/out"}]},
        volumes=[{"name": "out", "hostPath": {"path": str(tmp_path)}}],
    )
    created = core.create_namespaced_pod(namespace, pod)
    wait_until(lambda: pod_phase(core, namespace, "sleeper", "Running"), what="pod Running", timeout=WAIT, every=0.5)
    core.delete_namespaced_pod("sleeper", namespace)

    def gone() -> bool:
        try:
            core.read_namespaced_pod("sleeper", namespace)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_until(gone, what="pod object deleted by the kubelet", timeout=WAIT, every=0.5)
    assert (tmp_path / "signal").read_text().strip() == "term"
    uid = created.metadata.uid
    pod_dir = layout.StateDir.default().kubelet_root / "pods" / uid
    wait_until(
        lambda: not pod_dir.exists(),
        what="the kubelet to remove the pod's directory (volumes unmounted)",
        timeout=WAIT,
        every=0.5,
    )


def test_a_narrow_pod_ip_range_makes_addresses_come_back(
    core: client.CoreV1Api, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``JQM_POD_IP_RANGE`` (applied by ``up``, here by the same call) narrows host-local's range:
    with two addresses, the third pod started one after the other gets the first one's again, with the
    same MAC address (derived from the IP), so the other pods' neighbour entries stay right."""
    used = {p.status.pod_ip for p in core.list_pod_for_all_namespaces().items if p.status.pod_ip}
    free = [f"10.244.0.{n}" for n in range(2, 254) if f"10.244.0.{n}" not in used and f"10.244.0.{n + 1}" not in used]
    first = free[-1]
    second = str(ipaddress.ip_address(first) + 1)
    state = layout.StateDir.default()
    monkeypatch.setenv(layout.POD_IP_RANGE_ENV, f"{first}-{second}")
    podnet.write_conflist(state)
    try:
        addresses = []
        for n in range(3):
            pod = python_pod(f"p{n}", "cat /sys/class/net/eth0/address", restartPolicy="Never")
            core.create_namespaced_pod(namespace, pod)
            done = wait_until(
                lambda n=n: pod_phase(core, namespace, f"p{n}", "Succeeded"),
                what=f"pod p{n} done",
                timeout=WAIT,
                every=0.5,
            )
            addresses.append(done.status.pod_ip)
            mac = core.read_namespaced_pod_log(f"p{n}", namespace).strip()
            assert mac == cni_mac.mac_from_ip(done.status.pod_ip), (mac, done.status.pod_ip)
            core.delete_namespaced_pod(f"p{n}", namespace, grace_period_seconds=0)
            wait_until(
                lambda n=n: not core.list_namespaced_pod(namespace, field_selector=f"metadata.name=p{n}").items,
                what=f"pod p{n} gone",
                timeout=WAIT,
                every=0.5,
            )
        assert set(addresses) <= {first, second}
        assert addresses[2] in addresses[:2]  # reused
    finally:
        monkeypatch.delenv(layout.POD_IP_RANGE_ENV)
        podnet.write_conflist(state)
