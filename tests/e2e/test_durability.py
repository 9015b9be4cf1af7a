"""No routine operation loses a job, gives an ID twice or makes an ID name another job (issue 9).

Each scenario runs on its own 3-node cluster under steady client load through the load balancer
(tests/e2e/load.py): jobs of about one second on two slots per node, so every node holds running and
queued jobs. After the scenario every ID a client was given must resolve, through the load balancer,
to its own job in a final state the design promises, with its own log. Client errors (a 502 while a
node restarts, a connection closed by a node that goes) are counted and printed, not asserted: a real
client retries them.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import E2E_EVERY, Kube
from tests.e2e.load import LOADED_SPEC, MARKED_JOB, SteadyLoad, assert_nothing_lost, crashed_by_the_node_process
from tests.waiting import wait_until

REPLICAS = 3
WARM_UP_JOBS = 30  # enqueued before the scenario starts, so that the nodes hold jobs
AFTER_JOBS = 30  # enqueued after it, so that the cluster is seen taking work again
MINIMUM_JOBS = WARM_UP_JOBS + AFTER_JOBS
RETAINED = 5
KILL_NODE_PROCESS = (
    "import os, signal\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
    "    if any(a.endswith(b'/jqm-node') for a in argv[:2]):  # python, then the console script\n"
    "        os.kill(int(pid), signal.SIGKILL); print(pid)\n"
)


def busy_pod(kube: Kube, ns: str, name: str) -> client.V1Pod:
    """A ready node that has both running and queued jobs right now (read on its management port)."""

    def probe() -> client.V1Pod | None:
        for pod in kube.ready_pods(ns, name):
            status = kube.node_status(pod) or {}
            if status.get("running", 0) > 0 and status.get("queued", 0) > 0:
                return pod
        return None

    return wait_until(probe, what="a node holding running and queued jobs", timeout=60, every=0.2)


def start_load(kube: Kube, ns: str, name: str) -> SteadyLoad:
    load = SteadyLoad(kube.service_url(ns, name), kube.admin(ns, name)).start()
    load.wait_for_jobs(WARM_UP_JOBS)
    return load


def test_killed_node_process_recovers_its_jobs(kube: Kube, make_cluster: MakeCluster) -> None:
    """SIGKILL of the node process: the container restarts in the same pod, on the same work directory
    and address; the journal gives the jobs back (those that were running end CRASHED, with a message)."""
    ns, name = make_cluster(replicas=REPLICAS, **LOADED_SPEC)
    load = start_load(kube, ns, name)
    try:
        pod = busy_pod(kube, ns, name)
        killed = kube.kubectl("exec", "-n", ns, pod.metadata.name, "--", "python", "-c", KILL_NODE_PROCESS)
        assert killed.stdout.strip().isdigit(), killed

        def restarted() -> dict[str, Any] | None:
            ready = [p for p in kube.ready_pods(ns, name) if p.metadata.uid == pod.metadata.uid]
            return kube.node_status(ready[0]) if ready and ready[0].status.container_statuses[0].restart_count else None

        status = wait_until(
            restarted, what="the node container restarted in the same pod, ready", timeout=120, every=E2E_EVERY
        )
        assert status["journal"]["recovered"]["jobs"] > 0, status["journal"]
        load.wait_for_jobs(len(load.accepted) + AFTER_JOBS)
    finally:
        load.stop()
    assert_nothing_lost(load, "SIGKILL of a node process", at_least=MINIMUM_JOBS, allowed=crashed_by_the_node_process)


def test_deleted_pod_drains_and_hands_its_history_over(kube: Kube, make_cluster: MakeCluster) -> None:
    """``kubectl delete pod`` of a node holding running and queued jobs: it drains, runs them, hands
    its history over to a member and exits; every one of its jobs ENDED and stays readable."""
    ns, name = make_cluster(replicas=REPLICAS, **LOADED_SPEC)
    load = start_load(kube, ns, name)
    try:
        pod = busy_pod(kube, ns, name)
        kube.kubectl("delete", "pod", "-n", ns, pod.metadata.name, "--wait=false")
        wait_until(
            lambda: (
                pod.metadata.name not in {p.metadata.name for p in kube.pods(ns, name)}
                and len(kube.ready_pods(ns, name)) == REPLICAS
            ),
            what=f"pod {pod.metadata.name} gone and replaced",
            timeout=180,
            every=E2E_EVERY,
        )
        load.wait_for_jobs(len(load.accepted) + AFTER_JOBS)
    finally:
        load.stop()
    assert_nothing_lost(load, "kubectl delete pod", at_least=MINIMUM_JOBS)
    handed_over = wait_until(
        lambda: [e for e in kube.core.list_namespaced_event(ns).items if e.reason == "HistoryHandedOver"],
        what="the custodian's handover posted as an Event",
        timeout=60,
        every=E2E_EVERY,
    )
    assert pod.status.pod_ip in handed_over[0].message, handed_over[0].message


def test_scale_down_drains_the_nodes_that_go(kube: Kube, make_cluster: MakeCluster) -> None:
    """``kubectl scale jqmc --replicas=2`` from 3: the node that goes drains first."""
    ns, name = make_cluster(replicas=REPLICAS, **LOADED_SPEC)
    load = start_load(kube, ns, name)
    try:
        kube.kubectl("scale", "jqmcluster", name, "-n", ns, "--replicas=2")
        wait_until(lambda: len(kube.pods(ns, name)) == 2, what="one node gone", timeout=180, every=E2E_EVERY)
        kube.wait_available(ns, name, replicas=2)
        load.wait_for_jobs(len(load.accepted) + AFTER_JOBS)
    finally:
        load.stop()
    assert_nothing_lost(load, "kubectl scale jqmc 3 -> 2", at_least=MINIMUM_JOBS)


def test_job_definition_change_rolls_every_pod_without_loss(kube: Kube, make_cluster: MakeCluster) -> None:
    """A changed job definition rolls every pod; each old one drains and hands its history over. A
    custodian keeps only the last ``RETAINED`` jobs it took over (``spec.history.maxJobs``): the IDs of
    the others answer the documented 410 "expired", never another job."""
    ns, name = make_cluster(replicas=REPLICAS, history={"maxJobs": RETAINED}, **LOADED_SPEC)
    before = {pod.metadata.name for pod in kube.pods(ns, name)}
    load = start_load(kube, ns, name)
    try:
        changed = {**MARKED_JOB, "description": "the same job, described again: a new configuration"}
        kube.patch_cluster(ns, name, {"spec": {"jobDefinitions": [changed]}})

        def rolled() -> bool:
            pods = {pod.metadata.name for pod in kube.pods(ns, name)}
            return not pods & before and len(kube.ready_pods(ns, name)) == REPLICAS

        wait_until(rolled, what="every pod replaced after the job definition changed", timeout=300, every=E2E_EVERY)
        load.wait_for_jobs(len(load.accepted) + AFTER_JOBS)
    finally:
        load.stop()
    result = assert_nothing_lost(load, "job definition change (rollout)", at_least=MINIMUM_JOBS)
    assert result.expired > 0, "retention expired the oldest handed-over jobs"
