"""The nodes run as real containers, as Kubernetes runs them: a non-root user on a read-only root,
an enforced memory limit, logs, exec and port-forward through the API server, and the seed's check
through the ingress controller."""

from __future__ import annotations

import re
import subprocess
import uuid

from kubernetes import client

from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import E2E_EVERY, E2E_TIMEOUT, NODE_PORT, Kube, http, namespace
from tests.waiting import wait_until


def test_nodes_run_as_non_root_on_a_read_only_root(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=1)
    (pod,) = kube.ready_pods(ns, name)
    identity = kube.kubectl("exec", "-n", ns, pod.metadata.name, "--", "id").stdout
    assert re.match(r"uid=10001\b.* gid=10001\b", identity), identity
    write = kube.kubectl("exec", "-n", ns, pod.metadata.name, "--", "touch", "/probe", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write
    work = kube.kubectl("exec", "-n", ns, pod.metadata.name, "--", "sh", "-c", 'touch "$JQM_WORKDIR/probe"',
                        check=False)  # fmt: skip
    assert work.returncode == 0, work  # the work volume is writable


def test_logs_and_exec_reach_the_container(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=1)
    (pod,) = kube.ready_pods(ns, name)
    logs = kube.kubectl("logs", "-n", ns, pod.metadata.name).stdout
    assert logs.strip(), "the node logs at start"
    health = kube.kubectl(
        "exec", "-n", ns, pod.metadata.name, "--", "python", "-c",
        f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{NODE_PORT}"
        "/ws/simple/localnode/health').read().decode())",
    ).stdout  # fmt: skip
    assert health.strip() == f"Pollers are polling - IP: {pod.status.pod_ip}"


def test_port_forward_reaches_a_node(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=1)
    (pod,) = kube.ready_pods(ns, name)
    forward = subprocess.Popen(
        [kube.kubectl_binary, "--kubeconfig", str(kube.kubeconfig), "port-forward", "-n", ns,
         f"pod/{pod.metadata.name}", f":{NODE_PORT}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert forward.stdout is not None
        line = forward.stdout.readline().decode()  # "Forwarding from 127.0.0.1:PORT -> 1789"
        local = line.split()[2].split("->")[0].strip()
        assert local.startswith("127.0.0.1:"), line
        answer = http("GET", f"http://{local}/ws/simple/localnode/health")
        assert answer.status == 200 and answer.text == f"Pollers are polling - IP: {pod.status.pod_ip}"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


HOG = "blocks = [bytearray(16 * 2**20) for _ in range(64)]; print('survived')"  # 1 GiB, touched


def test_memory_limit_is_enforced(kube: Kube, node_image: str) -> None:
    """A container that allocates past its limit is killed by the kernel (OOMKilled), not left to grow."""
    with namespace(kube, f"e2e-oom-{uuid.uuid4().hex[:5]}") as ns:
        wait_until(
            lambda: kube.core.list_namespaced_service_account(ns).items,
            what="the namespace's default ServiceAccount",
            timeout=E2E_TIMEOUT,
            every=E2E_EVERY,
        )
        pod = {
            "metadata": {"name": "hog"},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},  # the namespace is restricted
                "containers": [{
                    "name": "hog", "image": node_image, "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", HOG],
                    "resources": {"limits": {"memory": "64Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }],
            },
        }  # fmt: skip
        kube.core.create_namespaced_pod(ns, pod)

        def terminated() -> client.V1ContainerStateTerminated | None:
            statuses = kube.core.read_namespaced_pod("hog", ns).status.container_statuses or []
            return statuses[0].state.terminated if statuses and statuses[0].state.terminated else None

        state = wait_until(terminated, what="the memory hog to end", timeout=120, every=E2E_EVERY)
        assert state.reason == "OOMKilled", state
        assert state.exit_code == 137


def test_seed_check_through_the_ingress(kube: Kube, make_cluster: MakeCluster) -> None:
    """`curl http://<ingress address>/ws/simple/localnode/health` answers from every replica. The
    Ingress has a host of its own, so other clusters' Ingresses (`make up`'s demo) cannot take its traffic."""
    host = f"jqm-{uuid.uuid4().hex[:8]}.e2e.test"
    ns, name = make_cluster(replicas=4, ingress={"enabled": True, "className": "traefik", "host": host})
    pod_ips = {pod.status.pod_ip for pod in kube.ready_pods(ns, name)}
    ingress = kube.networking.read_namespaced_ingress(name, ns)
    assert ingress.spec.ingress_class_name == "traefik"
    url = f"{kube.ingress_url()}/ws/simple/localnode/health"
    seen: set[str] = set()

    def every_replica_answers() -> bool:
        answer = http("GET", url, headers={"Host": host})
        if answer.status == 404:  # the controller has not picked the Ingress up yet
            return False
        assert answer.status == 200 and answer.text.startswith("Pollers are polling - IP: "), answer
        seen.add(answer.text.rsplit(" ", 1)[1])
        return seen == pod_ips

    what = f"health through the ingress from every replica {sorted(pod_ips)}"
    wait_until(every_replica_answers, what=what, timeout=90, every=0.05)
    assert seen == pod_ips

    def published() -> bool:
        status = kube.networking.read_namespaced_ingress(name, ns).status
        return bool(status and status.load_balancer and status.load_balancer.ingress)

    wait_until(published, what="the ingress address published in the Ingress status", timeout=60, every=E2E_EVERY)
