"""ID-limit restarts under a steady client load through the load balancer, with pod addresses reused.

With an absolute threshold of a few dozen IDs, nodes pass it within seconds; the operator drains one (it
leaves the load balancer while its jobs finish), evicts it, and the Deployment replaces it. The pod
address range is narrowed to exactly the cluster's three addresses (``JQM_POD_IP_RANGE``), so every
replacement gets the address of a node that left: without the ID ledger it would hand out that node's
IDs again. Three rollovers; clients enqueue and follow their jobs the whole time: not one of their
requests may fail (the drain comes before the eviction), no ID may be given twice, and every ID must
still name its own job afterwards.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator
from typing import Any

import pytest

from jqm_localcluster import layout, podnet
from jqm_node.ids import ip_from_id
from tests.e2e.conftest import MakeCluster
from tests.e2e.kube import Kube
from tests.e2e.load import LOADED_SPEC, SteadyLoad, assert_nothing_lost
from tests.waiting import wait_until

REPLICAS = 3
THRESHOLD_IDS = 30
ROLLOVERS = 3
LOAD_LIMIT_SECONDS = 480  # the load stops by itself even if the restarts never come


def free_addresses(kube: Kube, count: int) -> tuple[str, str]:
    """The highest ``count`` consecutive pod addresses no pod uses (host-local hands the low ones out first)."""
    used = {pod.status.pod_ip for pod in kube.core.list_pod_for_all_namespaces().items if pod.status.pod_ip}
    network = ipaddress.ip_network(layout.POD_CIDR)
    last = ipaddress.ip_address(layout.DEFAULT_POD_IP_RANGE.split("-")[1])
    while last - (count - 1) > network.network_address + 1:
        run = [str(last - n) for n in range(count)]
        if not used & set(run):
            return run[-1], run[0]
        last -= 1
    raise AssertionError(f"no {count} consecutive free pod addresses")


@contextlib.contextmanager
def pod_ip_range(first: str, last: str) -> Iterator[None]:
    """New pods get addresses of ``first``-``last`` only (the local cluster's ``JQM_POD_IP_RANGE``),
    restored afterwards."""
    state = layout.StateDir.default()
    before = os.environ.get(layout.POD_IP_RANGE_ENV)
    os.environ[layout.POD_IP_RANGE_ENV] = f"{first}-{last}"
    podnet.write_conflist(state)
    try:
        yield
    finally:
        if before is None:
            del os.environ[layout.POD_IP_RANGE_ENV]
        else:
            os.environ[layout.POD_IP_RANGE_ENV] = before
        podnet.write_conflist(state)


def test_id_limit_rollovers_with_reused_addresses_under_load(kube: Kube, make_cluster: MakeCluster) -> None:
    if kube.mode != "local":
        pytest.skip("forcing pod address reuse needs the local cluster's JQM_POD_IP_RANGE")
    first, last = free_addresses(kube, REPLICAS)
    with pod_ip_range(first, last):
        ns, name = make_cluster(
            replicas=REPLICAS,
            **LOADED_SPEC,
            idLimit={"restartThresholdIds": THRESHOLD_IDS, "drainTimeoutSeconds": 120},
        )
        addresses = {pod.status.pod_ip for pod in kube.pods(ns, name)}
        assert len(addresses) == REPLICAS
        original = {pod.metadata.name for pod in kube.pods(ns, name)}
        load = SteadyLoad(kube.service_url(ns, name), kube.admin(ns, name), max_seconds=LOAD_LIMIT_SECONDS,
                          max_jobs=3000).start()  # fmt: skip
        try:

            def rolled_over() -> dict[str, Any] | None:
                id_limit = (kube.get_cluster(ns, name).get("status") or {}).get("idLimit") or {}
                done = id_limit.get("restarts", 0) >= ROLLOVERS and not id_limit.get("drain")
                return id_limit if done and len(kube.ready_pods(ns, name)) == REPLICAS else None

            id_limit = wait_until(
                rolled_over, what=f"{ROLLOVERS} ID-limit restarts", timeout=LOAD_LIMIT_SECONDS - 60, every=1
            )
            load.wait_for_jobs(len(load.accepted) + 30)
        finally:
            load.stop()
        assert id_limit["lastRestart"]["reason"] == "Drained", id_limit  # jobs finished, not cut by the timeout
        pods = kube.pods(ns, name)
        assert {pod.metadata.name for pod in pods} - original, "replacement pods"
        assert {pod.status.pod_ip for pod in pods} == addresses  # replacements got the addresses of nodes that left
    assert {ip_from_id(job.job_id) for job in load.accepted} == addresses
    assert_nothing_lost(load, f"{ROLLOVERS} ID-limit rollovers, addresses reused", at_least=THRESHOLD_IDS * ROLLOVERS)
    assert sum(load.errors.values()) == 0, load.errors  # drained before evicted: no client sees it
    events = kube.core.list_namespaced_event(ns).items
    assert sum(e.reason == "NodeRestarted" for e in events) >= ROLLOVERS, [e.reason for e in events]
