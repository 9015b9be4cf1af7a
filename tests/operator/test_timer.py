"""The node timer (one per cluster) against in-memory fakes: ID-limit restarts, recovery of nodes drained
by someone else, handover Events, deletion costs, conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders import Owner, selector_labels
from jqm_operator.decisions import restart as r
from jqm_operator.idlimit_step import ID_LIMIT_DRAIN_REASON
from jqm_operator.model import parse_spec
from jqm_operator.nodetimer import run_cycle
from jqm_operator.nodewatch import observe
from tests.operator.fakes import FakeClusterApi, FakeNodeApi, node_status, pod

OWNER = Owner(name="demo", namespace="ns", uid="u")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
LOW = parse_spec({"replicas": 2, "idLimit": {"restartThresholdIds": 20, "drainTimeoutSeconds": 60}})


def cluster(*used: int) -> tuple[FakeClusterApi, FakeNodeApi]:
    api, nodes = FakeClusterApi(), FakeNodeApi()
    api.objects[("PodDisruptionBudget", "ns", "demo")] = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "disruptionsAllowed": 1},
    }
    for i, count in enumerate(used):
        api.pods.append(pod(f"demo-{i}", ip=f"10.1.0.{i + 1}"))
        nodes.statuses[f"demo-{i}"] = node_status(used=count)
    return api, nodes


def tick(api: FakeClusterApi, nodes: FakeNodeApi, *, seconds: int = 0, spec: Any = LOW) -> Any:
    """One timer tick, its status written back as kopf would."""
    cycle = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=spec, now=NOW + timedelta(seconds=seconds))
    api.patch_cluster_status(namespace="ns", name="demo", status=cycle.status)
    return cycle


def reasons(cycle: Any) -> list[str]:
    return [n.reason for n in cycle.notes]


def degraded(api: FakeClusterApi) -> tuple[str, str, str]:
    found = next(x for x in api.cluster_status["conditions"] if x["type"] == "Degraded")
    return found["status"], found["reason"], found["message"]


def test_observe_reads_pods_and_node_status_on_the_management_port() -> None:
    api, nodes = cluster(3, 4)
    api.pods.append(pod("demo-down", ip="10.1.0.9"))
    nodes.statuses["demo-1"] |= {"draining": True, "drainReason": "sigterm", "stopping": True}
    nodes.statuses["demo-1"]["handovers"] = [{"from": "10.1.0.7", "jobs": 3, "notRun": 1, "at": "t"}]
    pods = api.list_pods(namespace="ns", labels=selector_labels("demo"))
    seen = {
        n.pod: n
        for n in observe(nodes=nodes, owner=OWNER, spec=parse_spec({"auth": {"tls": {"secretName": "t"}}}), pods=pods)
    }
    assert set(seen) == {"demo-0", "demo-1", "demo-down"}
    assert seen["demo-1"].reachable and seen["demo-1"].ids_used == 4 and seen["demo-1"].ip == "10.1.0.2"
    assert (seen["demo-1"].drain_reason, seen["demo-1"].stopping) == ("sigterm", True)
    assert seen["demo-1"].handovers[0].not_run == 1 and seen["demo-1"].handovers[0].key == "t|10.1.0.7"
    assert not seen["demo-down"].reachable
    assert {(t.cluster, t.tls) for t in nodes.targets} == {("demo", True)}


def test_full_restart_cycle_with_a_low_absolute_threshold() -> None:
    api, nodes = cluster(25, 3)
    # 1. past 20 IDs: the drain is recorded, then requested (with the operator's reason), and an Event says so.
    first = tick(api, nodes)
    assert first.decision.action == r.START_DRAIN
    assert ("status", "demo") in api.calls and nodes.drains == ["demo-0"]
    assert nodes.drain_reasons == [ID_LIMIT_DRAIN_REASON]
    recorded = api.status_patches[0]["idLimit"]
    assert recorded["drain"]["pod"] == "demo-0" and recorded["drain"]["startedAt"] == "2030-01-01T00:00:00Z"
    assert reasons(first) == ["IdThresholdReached"]  # the operator's own drain is not "unexpected"
    assert first.status["nodes"][0]["idsUsed"] == 25 and first.status["highestIdUsagePercent"] == 0.0
    # 2. still running a job: wait, nothing else starts although demo-1 passes the threshold too.
    nodes.statuses["demo-0"]["running"] = 1
    nodes.statuses["demo-1"]["idsUsed"] = 30
    api.pods[0]["status"]["conditions"][0]["status"] = "False"
    waiting = tick(api, nodes, seconds=5)
    assert waiting.decision.action == r.WAIT_DRAIN and nodes.drains == ["demo-0"] and nodes.undrains == []
    # 3. drained: the pod is evicted, the restart counted.
    nodes.statuses["demo-0"]["running"] = 0
    evicting = tick(api, nodes, seconds=10)
    assert evicting.decision.action == r.EVICT and api.evictions == ["demo-0"]
    recorded = api.cluster_status["idLimit"]
    assert recorded["drain"]["evicted"] is True and recorded["restarts"] == 1
    assert recorded["lastRestart"]["reason"] == "Drained"
    assert reasons(evicting) == ["NodeRestarted"]
    # 4. the pod is gone: the record is cleared; the next tick picks demo-1.
    api.pods = [p for p in api.pods if p["metadata"]["name"] != "demo-0"]
    api.pods.append(pod("demo-2", ip="10.1.0.3"))
    nodes.statuses["demo-2"] = node_status(used=0)
    done = tick(api, nodes, seconds=20)
    assert done.decision.action == r.FINISH and "drain" not in api.cluster_status["idLimit"]
    assert api.cluster_status["idLimit"]["restarts"] == 1
    following = tick(api, nodes, seconds=30)
    assert following.decision.action == r.START_DRAIN and nodes.drains == ["demo-0", "demo-1"]


def test_eviction_refused_by_the_budget_keeps_the_record() -> None:
    api, nodes = cluster(25, 3)
    nodes.statuses["demo-0"]["draining"] = True
    api.refuse_eviction = True
    api.cluster_status = {
        "idLimit": {"drain": r.DrainState(pod="demo-0", pod_uid="uid-demo-0", started_at=NOW).to_status()}
    }
    cycle = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW)
    assert cycle.decision.action == r.EVICT
    assert api.status_patches == [] and reasons(cycle) == ["EvictionBlocked"]
    assert api.cluster_status["idLimit"]["drain"]["pod"] == "demo-0"


def test_unreachable_node_at_drain_time_is_retried() -> None:
    api, nodes = cluster(25, 3)
    api.cluster_status = {
        "idLimit": {"drain": r.DrainState(pod="demo-0", pod_uid="uid-demo-0", started_at=NOW).to_status()}
    }
    unsent = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW)
    assert unsent.decision.action == r.RESEND_DRAIN and nodes.drains == ["demo-0"]
    assert api.status_patches == []  # resending changes no record


def test_a_node_drained_by_someone_else_is_undrained_and_reported() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "curl from the internet", "running": 2}
    first = tick(api, nodes)
    assert nodes.undrains == ["demo-0"] and api.deleted_pods == []
    assert reasons(first) == ["UnexpectedDrain"] and "'curl from the internet'" in first.notes[0].message
    assert api.cluster_status["unexpectedDrains"][0]["pod"] == "demo-0"
    assert degraded(api)[:2] == ("True", "UnexpectedDrain")
    assert "drained by someone else" in degraded(api)[2]
    second = tick(api, nodes, seconds=15)  # undrained: recovered, not Degraded any more
    assert reasons(second) == ["DrainRecovered"] and "takes work again" in second.notes[0].message
    assert "unexpectedDrains" not in api.cluster_status
    assert degraded(api)[:2] == ("False", "AsExpected")


def test_a_node_that_cannot_be_undrained_is_replaced_with_surge() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "x"}
    nodes.refuse_undrain = True
    first = tick(api, nodes)
    assert reasons(first) == ["UnexpectedDrain", "DrainedNodeReplaced"]
    assert "could not be undrained" in first.notes[1].message
    assert api.deleted_pods == ["demo-0"]  # deleted, not evicted: the budget cannot block a node that serves nobody
    assert api.cluster_status["unexpectedDrains"][0]["replaced"] is True
    assert degraded(api)[:2] == ("True", "UnexpectedDrain")
    tick(api, nodes, seconds=15)  # still terminating: still Degraded, nothing repeated
    assert api.deleted_pods == ["demo-0"] and degraded(api)[0] == "True"
    api.pods = [p for p in api.pods if p["metadata"]["name"] != "demo-0"]
    gone = tick(api, nodes, seconds=30)
    assert reasons(gone) == ["DrainRecovered"] and "replaced" in gone.notes[0].message
    assert degraded(api)[0] == "False"


def test_a_node_drained_again_after_its_undrain_is_replaced() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "x"}
    tick(api, nodes)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "x"}  # drained again at once
    second = tick(api, nodes, seconds=15)
    assert reasons(second) == ["DrainedNodeReplaced"] and api.deleted_pods == ["demo-0"]


def test_nodes_stopping_on_sigterm_are_left_alone() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "sigterm", "stopping": True}
    nodes.statuses["demo-1"] |= {"draining": True, "drainReason": "whatever"}
    api.pods[1]["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"  # terminating pod
    cycle = tick(api, nodes)
    assert nodes.undrains == [] and api.deleted_pods == [] and reasons(cycle) == []


def test_every_handover_becomes_one_event_and_not_run_jobs_a_warning() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"]["handovers"] = [{"from": "10.1.0.9", "jobs": 120, "notRun": 0, "at": "t1"}]
    first = tick(api, nodes)
    assert reasons(first) == ["HistoryHandedOver"] and "120 jobs from node 10.1.0.9" in first.notes[0].message
    assert reasons(tick(api, nodes, seconds=15)) == []  # posted once
    nodes.statuses["demo-0"]["handovers"].append({"from": "10.1.0.8", "jobs": 40, "notRun": 3, "at": "t2"})
    nodes.statuses["demo-1"]["handovers"] = [{"from": "10.1.0.8", "jobs": 1, "notRun": 0, "at": "t2"}]
    third = tick(api, nodes, seconds=30)
    assert sorted(reasons(third)) == ["HistoryHandedOver", "JobsNotRun"]
    warning = next(n for n in third.notes if n.type == "Warning")
    assert "3 of them never ran" in warning.message and "demo-0" in warning.message
    # The operator restarts: what it posted is in the status, so nothing is posted twice.
    assert reasons(tick(api, nodes, seconds=45)) == []


def test_deletion_costs_follow_the_jobs_each_node_holds() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"running": 4, "queued": 6}
    tick(api, nodes)
    costs = {
        p["metadata"]["name"]: p["metadata"].get("annotations", {}).get(c.DELETION_COST_ANNOTATION) for p in api.pods
    }
    assert costs == {"demo-0": "10", "demo-1": "0"}
    patches = [call for call in api.calls if call[0] == "patch"]
    tick(api, nodes, seconds=15)
    assert [call for call in api.calls if call[0] == "patch"] == patches  # unchanged: not patched again
    nodes.statuses["demo-1"]["queued"] = 2
    tick(api, nodes, seconds=30)
    assert api.pods[1]["metadata"]["annotations"][c.DELETION_COST_ANNOTATION] == "2"


def test_the_timer_reports_crash_looping_nodes() -> None:
    api, nodes = cluster(5)
    api.pods[0]["status"]["containerStatuses"] = [
        {"name": "jqm-node", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {}}
    ]
    tick(api, nodes, spec=parse_spec({"replicas": 1}))
    assert degraded(api)[:2] == ("True", "NodesCrashLooping")


def test_a_replacement_the_api_server_refuses_is_reported_and_retried() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "drainReason": "x"}
    nodes.refuse_undrain = True
    api.refuse_pod_writes = 403
    first = tick(api, nodes)
    assert reasons(first) == ["UnexpectedDrain", "DrainedNodeNotReplaced", "DeletionCostFailed"]
    assert "403" in first.notes[1].message and api.cluster_status["unexpectedDrains"][0]["replaced"] is False
    api.refuse_pod_writes = 0
    second = tick(api, nodes, seconds=15)
    assert reasons(second) == ["DrainedNodeReplaced"] and api.deleted_pods == ["demo-0"]
