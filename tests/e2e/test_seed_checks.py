"""Upstream's checks of a standalone deployment, through the load balancer, plus job-level calls.

(1) health calls through the load balancer show every replica's IP; (2) IDs returned by enqueues
through it decode to those IPs, each replica seen; (3) any job is readable through any replica.
Health is public; every other call carries the administrator's credential from the cluster's Secret.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from jqm_node.ids import ip_from_id
from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import E2E_EVERY, E2E_TIMEOUT, Kube, http
from tests.waiting import wait_until

EXAMPLE = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "jqmcluster.yaml").read_text())
REPLICAS = EXAMPLE["spec"]["replicas"]


def test_seed_checks_through_the_load_balancer(kube: Kube, make_cluster: MakeCluster) -> None:
    """On the shipped example (4 nodes, DemoEcho), as `make up` deploys it."""
    spec = {k: v for k, v in EXAMPLE["spec"].items() if k not in ("replicas", "image", "imagePullPolicy")}
    ns, name = make_cluster(replicas=REPLICAS, **spec)
    lb, admin = kube.service_url(ns, name), kube.admin(ns, name)
    pod_ips = {pod.status.pod_ip for pod in kube.ready_pods(ns, name)}
    assert len(pod_ips) == REPLICAS

    # "Eventually": a node just marked ready joins the load balancer once its endpoint is published.
    seen: set[str] = set()

    def health_shows_every_replica() -> bool:
        answer = http("GET", f"{lb}/ws/simple/localnode/health")
        assert answer.status == 200 and answer.text.startswith("Pollers are polling - IP: "), answer
        seen.add(answer.text.rsplit(" ", 1)[1])
        return seen == pod_ips

    wait_until(
        health_shows_every_replica, what=f"health answers from every replica {sorted(pod_ips)}", timeout=60, every=0.02
    )
    assert seen == pod_ips

    ids: list[int] = []

    def enqueues_reach_every_replica() -> bool:
        answer = http("POST", f"{lb}/ws/simple/ji", form={"applicationname": "DemoEcho"}, auth=admin)
        assert answer.status == 200, answer
        ids.append(int(answer.text))
        return {ip_from_id(i) for i in ids} == pod_ips

    wait_until(enqueues_reach_every_replica, what="enqueues on every replica", timeout=60, every=0.02)
    assert {ip_from_id(i) for i in ids} == pod_ips

    replicas = [kube.pod_url(pod) for pod in kube.ready_pods(ns, name)]
    for job_id in ids[:6]:
        for url in replicas:
            answer = http("GET", f"{url}/ws/client/ji/{job_id}", headers={"Accept": "application/json"}, auth=admin)
            assert answer.status == 200, (url, job_id, answer)
            assert answer.json()["id"] == job_id
        for _ in range(3):
            answer = http("GET", f"{lb}/ws/client/ji/{job_id}", headers={"Accept": "application/json"}, auth=admin)
            assert answer.status == 200 and answer.json()["id"] == job_id


def test_shell_job_stdout_and_kill_through_a_non_owner(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(replicas=2)
    lb, admin = kube.service_url(ns, name), kube.admin(ns, name)

    def state(job_id: int) -> str:
        return http("GET", f"{lb}/ws/simple/status?id={job_id}", auth=admin).text

    form = {"applicationname": "DemoEcho", "parameterNames": "p1", "parameterValues": "hello"}
    job_id = int(http("POST", f"{lb}/ws/simple/ji", form=form, auth=admin).text)
    wait_until(lambda: state(job_id) == "ENDED", what="DemoEcho to end", timeout=E2E_TIMEOUT, every=E2E_EVERY)
    stdout = http("GET", f"{lb}/ws/simple/stdout?id={job_id}", auth=admin)
    assert stdout.status == 200
    assert stdout.text.startswith("DemoEcho on ") and stdout.text.endswith(f"job {job_id}: hello\n")

    sleep = {"applicationname": "Sleep", "parameterNames": "s", "parameterValues": "300"}
    sleeper = int(http("POST", f"{lb}/ws/simple/ji", form=sleep, auth=admin).text)
    wait_until(lambda: state(sleeper) == "RUNNING", what="Sleep to run", timeout=E2E_TIMEOUT, every=E2E_EVERY)
    other = next(p for p in kube.ready_pods(ns, name) if p.status.pod_ip != ip_from_id(sleeper))
    answer = http("POST", f"{kube.pod_url(other)}/ws/client/ji/killed/{sleeper}", auth=admin)
    assert answer.status == 204, answer
    wait_until(
        lambda: state(sleeper) == "CRASHED",
        what="the kill (a killed job ends CRASHED, as upstream)",
        timeout=E2E_TIMEOUT,
        every=E2E_EVERY,
    )
