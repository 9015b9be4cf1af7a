"""The JqmCluster's life on a real API server: scale, roll out, reject bad specs, delete, survive the
operator's own restart."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.e2e.conftest import DEMO_ECHO, SLEEP, MakeCluster, cluster_body
from tests.e2e.kube import E2E_EVERY, E2E_TIMEOUT, Kube, http
from tests.waiting import wait_until


def test_kubectl_scale_up_and_down(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=2)
    kube.kubectl("scale", "jqmcluster", name, "-n", ns, "--replicas=4")
    cluster = kube.wait_available(ns, name, replicas=4)
    assert cluster["status"]["replicas"] == 4
    assert kube.apps.read_namespaced_deployment(name, ns).spec.replicas == 4
    kube.kubectl("scale", "jqmcluster", name, "-n", ns, "--replicas=1")
    kube.wait_available(ns, name, replicas=1)
    wait_until(
        lambda: len(kube.pods(ns, name)) == 1, what="scaled-down pods to go", timeout=E2E_TIMEOUT, every=E2E_EVERY
    )
    printed = kube.kubectl("get", "jqmcluster", name, "-n", ns).stdout
    assert "READY" in printed and "ID-USAGE" in printed.upper().replace("_", "-")


def test_spec_change_rolls_out(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=2)
    before = {pod.metadata.name for pod in kube.pods(ns, name)}
    changed = {**DEMO_ECHO, "path": 'echo "version two:"'}  # the values follow as arguments
    kube.patch_cluster(ns, name, {"spec": {"jobDefinitions": [changed, SLEEP]}})

    def rolled() -> bool:
        ready = {pod.metadata.name for pod in kube.ready_pods(ns, name)}
        return len(ready) == 2 and not ready & before

    wait_until(rolled, what="every pod replaced after the job definition changed", timeout=180, every=E2E_EVERY)
    kube.wait_available(ns, name, replicas=2)
    kube.wait_balanced_to_ready_pods(ns, name)
    lb, admin = kube.service_url(ns, name), kube.admin(ns, name)
    job_id = int(http("POST", f"{lb}/ws/simple/ji", form={"applicationname": "DemoEcho"}, auth=admin).text)
    wait_until(
        lambda: http("GET", f"{lb}/ws/simple/status?id={job_id}", auth=admin).text == "ENDED",
        what="the job",
        timeout=E2E_TIMEOUT,
        every=E2E_EVERY,
    )
    assert http("GET", f"{lb}/ws/simple/stdout?id={job_id}", auth=admin).text == "version two: default-value\n"


def test_deleting_the_cluster_removes_every_child(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=2, ingress={"enabled": True, "className": "traefik", "host": "jqm.example.test"})
    assert kube.networking.read_namespaced_ingress(name, ns)
    assert kube.policy.read_namespaced_pod_disruption_budget(name, ns)
    kube.kubectl("delete", "jqmcluster", name, "-n", ns, "--wait=true", "--timeout=120s")

    def children() -> list[str]:
        left = [f"deployment/{d.metadata.name}" for d in kube.apps.list_namespaced_deployment(ns).items]
        left += [f"service/{s.metadata.name}" for s in kube.core.list_namespaced_service(ns).items]
        left += [
            f"configmap/{c.metadata.name}"
            for c in kube.core.list_namespaced_config_map(ns).items
            if c.metadata.name != "kube-root-ca.crt"
        ]
        left += [f"ingress/{i.metadata.name}" for i in kube.networking.list_namespaced_ingress(ns).items]
        left += [f"pdb/{p.metadata.name}" for p in kube.policy.list_namespaced_pod_disruption_budget(ns).items]
        left += [f"pod/{p.metadata.name}" for p in kube.core.list_namespaced_pod(ns).items]
        return left

    wait_until(lambda: children() == [] or None, what="no child left", timeout=120, every=E2E_EVERY)


INVALID = [
    ({"replicas": -1}, "spec.replicas"),
    ({"idLimit": {"restartThreshold": 1.5}}, "spec.idLimit.restartThreshold"),
    ({"idLimit": {"restartThreshold": 0}}, "spec.idLimit.restartThreshold"),
    ({"service": {"type": "Mystery"}}, "spec.service.type"),
    ({"queues": [{"name": "a", "default": True}, {"name": "b", "default": True}]}, "at most one queue"),
    ({"ingress": {"enabled": True, "className": "traefik", "tlsSecretName": "t"}}, "TLS needs a host"),
    ({"pod": {"env": [{"name": "JQM_NODE_IP", "value": "1.2.3.4"}]}}, "set by the operator"),
]


@pytest.mark.parametrize(("spec", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_specs_are_rejected_at_apply(kube: Kube, node_image: str, spec: dict, message: str) -> None:
    body = cluster_body("bad", node_image, **{"replicas": 1, **spec})
    result = kube.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", stdin=yaml.safe_dump(body),
                          check=False)  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert message in result.stderr, result.stderr


def test_invalid_name_is_rejected(kube: Kube, node_image: str) -> None:
    body = cluster_body("Not_A_Label", node_image, replicas=1)
    result = kube.kubectl("apply", "--dry-run=server", "-f", "-", stdin=json.dumps(body), check=False)
    assert result.returncode != 0 and "name" in result.stderr, result.stderr


def test_operator_killed_mid_reconcile_converges(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=1)
    kube.patch_cluster(ns, name, {"spec": {"replicas": 3, "jobDefinitions": [DEMO_ECHO]}})
    operators = kube.core.list_namespaced_pod("jqm-system", label_selector="app.kubernetes.io/name=jqm-operator")
    assert operators.items, "the operator runs in the cluster"
    for pod in operators.items:
        kube.core.delete_namespaced_pod(pod.metadata.name, "jqm-system", grace_period_seconds=0)
    cluster = kube.wait_available(ns, name, replicas=3, timeout=240)
    assert cluster["status"]["observedGeneration"] == cluster["metadata"]["generation"]
    kube.wait_balanced_to_ready_pods(ns, name)
    lb, admin = kube.service_url(ns, name), kube.admin(ns, name)
    assert http("POST", f"{lb}/ws/simple/ji", form={"applicationname": "Sleep"}, auth=admin).status == 400  # removed


def test_crash_looping_nodes_make_the_cluster_degraded(kube: Kube, make_cluster: MakeCluster) -> None:
    """A spec that passes validation but that the node refuses at start (a command ending in ``;``,
    after which appended parameter values would run): Degraded=True, NodesCrashLooping, with the
    node's last message, never AsExpected."""
    refused = {"name": "Trailing", "pathType": "DEFAULTSHELLCOMMAND", "path": "echo started;"}
    ns, name = make_cluster(replicas=1, wait=False, jobDefinitions=[DEMO_ECHO, refused])

    def degraded() -> dict | None:
        condition = kube.condition(ns, name, "Degraded") or {}
        return condition if condition.get("reason") == "NodesCrashLooping" else None

    condition = wait_until(degraded, what="Degraded=True, NodesCrashLooping", timeout=180, every=1)
    assert condition["status"] == "True"
    assert "Trailing" in condition["message"] and "ends with ';'" in condition["message"], condition["message"]
    assert (kube.condition(ns, name, "Available") or {}).get("status") == "False"
