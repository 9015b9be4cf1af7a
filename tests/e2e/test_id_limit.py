"""The ID-limit restart under a steady client load through the load balancer.

With an absolute threshold of 20 IDs, nodes pass it within seconds; the operator drains one (it
leaves the load balancer while its jobs finish), evicts it, and the Deployment replaces it. Clients
enqueue and follow their jobs to the end the whole time: not one of their requests may fail.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from tests.e2e.conftest import DEMO_ECHO, MakeCluster
from tests.e2e.kube import Kube, http, wait_for

THRESHOLD_IDS = 20
WORKERS = 3
LOAD_LIMIT_SECONDS = 240  # the load stops by itself even if the restart never comes
SHORT = {"name": "Short", "pathType": "DEFAULTSHELLCOMMAND", "path": "sleep 0.3"}


@dataclass
class Load:
    """Clients that enqueue a short job through the load balancer and poll it until it ends."""

    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)
    ended: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self) -> None:
        deadline = time.monotonic() + LOAD_LIMIT_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self._one_job()
            except OSError as e:
                self._fail(f"connection error: {e}")

    def _one_job(self) -> None:
        answer = http("POST", f"{self.url}/ws/simple/ji", form={"applicationname": "Short"}, timeout=15)
        if answer.status != 200:
            self._fail(f"enqueue: {answer.status} {answer.text[:200]}")
            return
        job_id = int(answer.text)
        for _ in range(400):  # bounded: a 0.3 s job ends long before
            state = http("GET", f"{self.url}/ws/simple/status?id={job_id}", timeout=15)
            if state.status != 200:
                self._fail(f"status of {job_id}: {state.status} {state.text[:200]}")
                return
            if state.text in ("ENDED", "CRASHED", "KILLED", "CANCELLED"):
                if state.text != "ENDED":
                    self._fail(f"job {job_id} ended {state.text}")
                with self.lock:
                    self.ended += 1
                return
            time.sleep(0.05)
        self._fail(f"job {job_id} never ended")

    def _fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(f"{time.strftime('%H:%M:%S')} {message}")


def test_node_restarted_near_the_id_limit_under_load(kube: Kube, make_cluster: MakeCluster) -> None:
    ns, name = make_cluster(
        replicas=3,
        jobDefinitions=[DEMO_ECHO, SHORT],
        idLimit={"restartThresholdIds": THRESHOLD_IDS, "drainTimeoutSeconds": 120},
    )
    original = {pod.metadata.name for pod in kube.pods(ns, name)}
    load = Load(kube.service_url(ns, name))
    threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    try:

        def restarted() -> dict | None:
            id_limit = (kube.get_cluster(ns, name).get("status") or {}).get("idLimit") or {}
            return id_limit.get("lastRestart") if id_limit.get("restarts") else None

        last = wait_for("a node restarted for the ID limit", restarted, timeout=LOAD_LIMIT_SECONDS - 60, every=1)
        assert last["reason"] == "Drained", last  # its jobs were finished, not cut by the drain timeout
        assert last["pod"] in original
        wait_for(
            f"pod {last['pod']} gone and replaced",
            lambda: (
                last["pod"] not in {p.metadata.name for p in kube.pods(ns, name)}
                and len(kube.ready_pods(ns, name)) >= 2
            ),
            timeout=120,
        )
        time.sleep(3)  # keep the load on while the replacement joins
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert load.failures == []
    assert load.ended > THRESHOLD_IDS
    events = kube.core.list_namespaced_event(ns).items
    assert any(e.reason == "NodeRestarted" for e in events), [e.reason for e in events]
