"""The orchestration (apply, status, restart cycle) against in-memory fakes of both APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jqm_operator.builders import Owner
from jqm_operator.decisions import restart as r
from jqm_operator.model import parse_spec
from jqm_operator.reconcile import apply_children, workload_refresh, workload_status
from jqm_operator.restarts import observe, run_cycle
from tests.operator.fakes import FakeClusterApi, FakeNodeApi, node_status, pod

OWNER = Owner(name="demo", namespace="ns", uid="u")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
LOW = parse_spec({"replicas": 2, "idLimit": {"restartThresholdIds": 20, "drainTimeoutSeconds": 60}})


def test_apply_creates_every_child_and_deletes_a_disabled_ingress() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({"ingress": {"enabled": True}}), previous_checksum=None)
    assert ("Ingress", "ns", "demo") in api.objects
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert ("Ingress", "ns", "demo") not in api.objects
    assert [n.reason for n in applied.notes] == ["Deleted"]
    assert {k[0] for k in api.objects} == {"ConfigMap", "Service", "PodDisruptionBudget", "Deployment"}


def test_apply_is_idempotent_and_reports_config_changes() -> None:
    api = FakeClusterApi()
    first = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    again = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=first.checksum)
    assert again.checksum == first.checksum and again.notes == ()
    changed = apply_children(
        api=api, owner=OWNER, spec=parse_spec({"queues": [{"name": "q"}]}), previous_checksum=first.checksum
    )
    assert changed.checksum != first.checksum
    assert [n.reason for n in changed.notes] == ["ConfigChanged"]


def test_referenced_configmaps_feed_the_checksum_and_a_missing_one_warns() -> None:
    api = FakeClusterApi()
    spec = parse_spec({"jobDefinitionsFrom": [{"name": "defs"}]})
    missing = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert [(n.type, n.reason) for n in missing.notes] == [("Warning", "JobDefinitionsMissing")]
    api.objects[("ConfigMap", "ns", "defs")] = {"data": {"a.yaml": "- name: x\n  path: y\n"}}
    present = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    api.objects[("ConfigMap", "ns", "defs")] = {"data": {"a.yaml": "- name: x\n  path: z\n"}}
    edited = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert len({missing.checksum, present.checksum, edited.checksum}) == 3


def test_workload_status() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    deployment = api.objects[("Deployment", "ns", "demo")]
    deployment["metadata"]["generation"] = 1
    deployment["status"] = {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}
    status = workload_status(
        api=api, owner=OWNER, spec=parse_spec({}), generation=3, old_status={}, checksum="c", apply_error=None, now=NOW
    )
    assert status["replicas"] == status["readyReplicas"] == 2
    assert status["selector"] == "app.kubernetes.io/instance=demo,app.kubernetes.io/name=jqm-node"
    assert status["observedGeneration"] == 3 and status["configChecksum"] == "c"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Available": "True",
        "Progressing": "False",
        "Degraded": "False",
    }
    failed = workload_status(
        api=api,
        owner=OWNER,
        spec=parse_spec({}),
        generation=4,
        old_status=status,
        checksum=None,
        apply_error="boom",
        now=NOW,
    )
    assert "observedGeneration" not in failed


def test_workload_refresh_reports_only_changes_and_keeps_an_apply_failure() -> None:
    api = FakeClusterApi()
    deployment = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2},
    }
    api.cluster_status = {"observedGeneration": 5}
    fields = workload_refresh(api=api, namespace="ns", name="demo", deployment=deployment, now=NOW)
    assert fields is not None and (fields["replicas"], fields["readyReplicas"]) == (2, 1)
    assert {c["type"]: c["observedGeneration"] for c in fields["conditions"]} == {
        "Available": 5,
        "Progressing": 5,
        "Degraded": 5,
    }
    api.patch_cluster_status(namespace="ns", name="demo", status=fields)
    assert workload_refresh(api=api, namespace="ns", name="demo", deployment=deployment, now=NOW) is None
    api.cluster_status["conditions"][2] |= {"status": "True", "reason": "ApplyFailed", "message": "422 bad"}
    deployment["status"]["readyReplicas"] = 2
    later = workload_refresh(api=api, namespace="ns", name="demo", deployment=deployment, now=NOW)
    assert later is not None
    assert {c["type"]: (c["status"], c["reason"]) for c in later["conditions"]}["Degraded"] == ("True", "ApplyFailed")


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


def test_observe_reads_pods_and_node_status() -> None:
    api, nodes = cluster(3, 4)
    api.pods.append(pod("other", cluster="other"))
    api.pods.append(pod("demo-down", ip="10.1.0.9"))
    seen = {n.pod: n for n in observe(api=api, nodes=nodes, owner=OWNER)}
    assert set(seen) == {"demo-0", "demo-1", "demo-down"}
    assert seen["demo-1"].reachable and seen["demo-1"].ids_used == 4 and seen["demo-1"].ip == "10.1.0.2"
    assert not seen["demo-down"].reachable


def test_full_restart_cycle_with_a_low_absolute_threshold() -> None:
    api, nodes = cluster(25, 3)
    # 1. past 20 IDs: the drain is recorded, then requested, and an Event says so.
    first = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW)
    assert first.decision.action == r.START_DRAIN
    assert api.calls[-1] == ("status", "demo") and nodes.drains == ["demo-0"]
    recorded = api.status_patches[-1]["idLimit"]
    assert recorded["drain"]["pod"] == "demo-0" and recorded["drain"]["startedAt"] == "2030-01-01T00:00:00Z"
    assert [n.reason for n in first.notes] == ["IdThresholdReached"]
    assert first.status["nodes"][0]["idsUsed"] == 25 and first.status["highestIdUsagePercent"] == 0.0
    # 2. still running a job: wait, nothing else starts although demo-1 passes the threshold too.
    nodes.statuses["demo-0"]["running"] = 1
    nodes.statuses["demo-1"]["idsUsed"] = 30
    api.pods[0]["status"]["conditions"][0]["status"] = "False"
    waiting = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW + timedelta(seconds=5))
    assert waiting.decision.action == r.WAIT_DRAIN and nodes.drains == ["demo-0"]
    # 3. drained: the pod is evicted, the restart counted.
    nodes.statuses["demo-0"]["running"] = 0
    evicting = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW + timedelta(seconds=10))
    assert evicting.decision.action == r.EVICT and api.evictions == ["demo-0"]
    recorded = api.status_patches[-1]["idLimit"]
    assert recorded["drain"]["evicted"] is True and recorded["restarts"] == 1
    assert recorded["lastRestart"]["reason"] == "Drained"
    assert [n.reason for n in evicting.notes] == ["NodeRestarted"]
    # 4. the pod is gone: the record is cleared; the next tick picks demo-1.
    api.pods = [p for p in api.pods if p["metadata"]["name"] != "demo-0"]
    api.pods.append(pod("demo-2", ip="10.1.0.3"))
    nodes.statuses["demo-2"] = node_status(used=0)
    done = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW + timedelta(seconds=20))
    assert done.decision.action == r.FINISH and api.status_patches[-1]["idLimit"]["drain"] is None
    assert "drain" not in api.cluster_status["idLimit"] and api.cluster_status["idLimit"]["restarts"] == 1
    following = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW + timedelta(seconds=30))
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
    assert api.status_patches == [] and [n.reason for n in cycle.notes] == ["EvictionBlocked"]
    assert api.cluster_status["idLimit"]["drain"]["pod"] == "demo-0"


def test_unreachable_node_at_drain_time_is_retried() -> None:
    api, nodes = cluster(25, 3)
    api.cluster_status = {
        "idLimit": {"drain": r.DrainState(pod="demo-0", pod_uid="uid-demo-0", started_at=NOW).to_status()}
    }
    unsent = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW)
    assert unsent.decision.action == r.RESEND_DRAIN and nodes.drains == ["demo-0"]
    assert api.status_patches == []  # resending changes no record


def test_adopted_drain_is_recorded_once() -> None:
    api, nodes = cluster(5, 3)
    nodes.statuses["demo-0"] |= {"draining": True, "running": 2}
    cycle = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=LOW, now=NOW)
    assert cycle.decision.reason == "DrainAdopted"
    assert api.status_patches[-1]["idLimit"]["drain"]["pod"] == "demo-0" and nodes.drains == []
