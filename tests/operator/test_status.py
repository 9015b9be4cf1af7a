"""Status computation: node list, ID usage, conditions and their transition times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jqm_operator.decisions.pods import PodProblem
from jqm_operator.decisions.restart import NodeObservation
from jqm_operator.status import (
    Health,
    WorkloadView,
    compute_conditions,
    highest_usage_percent,
    merge_conditions,
    node_entries,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def by_type(conditions: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions}


def test_node_entries_are_sorted_and_only_report_what_was_seen() -> None:
    nodes = [
        NodeObservation(pod="b", uid="2", ip="10.0.0.2", reachable=True, ids_used=5, id_capacity=10),
        NodeObservation(pod="a", uid="1"),
    ]
    assert node_entries(nodes) == [
        {"pod": "a", "ready": False, "reachable": False},
        {
            "pod": "b",
            "ready": False,
            "reachable": True,
            "ip": "10.0.0.2",
            "idsUsed": 5,
            "idCapacity": 10,
            "draining": False,
            "running": 0,
            "queued": 0,
        },
    ]


def test_highest_usage_percent() -> None:
    nodes = [
        NodeObservation(pod="a", uid="1", reachable=True, ids_used=1, id_capacity=3),
        NodeObservation(pod="b", uid="2", reachable=True, ids_used=0, id_capacity=10),
        NodeObservation(pod="c", uid="3", reachable=False, ids_used=9, id_capacity=10),
    ]
    assert highest_usage_percent(nodes) == 33.33
    assert highest_usage_percent([]) == 0.0


def test_conditions_of_a_stable_cluster() -> None:
    workload = WorkloadView(generation=2, observed_generation=2, replicas=3, ready_replicas=3, updated_replicas=3)
    conditions = compute_conditions(desired=3, workload=workload, health=Health(), restarting=None)
    assert by_type(conditions) == {
        "Available": ("True", "NodesReady"),
        "Progressing": ("False", "Stable"),
        "Degraded": ("False", "AsExpected"),
    }


def test_conditions_while_rolling_restarting_failing() -> None:
    rolling = WorkloadView(generation=3, observed_generation=2, replicas=3, ready_replicas=0, updated_replicas=0)
    assert by_type(compute_conditions(desired=3, workload=rolling, health=Health(), restarting=None)) == {
        "Available": ("False", "NoNodeReady"),
        "Progressing": ("True", "RollingOut"),
        "Degraded": ("False", "AsExpected"),
    }
    stable = WorkloadView(generation=1, observed_generation=1, replicas=2, ready_replicas=1, updated_replicas=2)
    restarting = compute_conditions(desired=2, workload=stable, health=Health(), restarting="node a")
    assert by_type(restarting)["Progressing"] == ("True", "IdLimitRestart")
    failed = compute_conditions(desired=2, workload=None, health=Health(apply_failures=("403",)), restarting=None)
    assert by_type(failed)["Degraded"] == ("True", "ApplyFailed")
    stuck = WorkloadView(
        generation=1, observed_generation=1, replicas=2, ready_replicas=1, updated_replicas=2, deadline_exceeded=True
    )
    assert by_type(compute_conditions(desired=2, workload=stuck, health=Health(), restarting=None)) == {
        "Available": ("True", "NodesReady"),
        "Progressing": ("False", "Stalled"),
        "Degraded": ("True", "ProgressDeadlineExceeded"),
    }
    zero = compute_conditions(desired=0, workload=None, health=Health(), restarting=None)
    assert by_type(zero)["Available"] == ("True", "ScaledToZero")


def test_degraded_names_the_most_serious_problem_and_lists_them_all() -> None:
    stable = WorkloadView(
        generation=1, observed_generation=1, replicas=2, ready_replicas=0, updated_replicas=2, deadline_exceeded=True
    )
    health = Health(
        pod_problems=(PodProblem(pod="a", reason="NodesCrashLooping", message="pod a: CrashLoopBackOff"),),
        unexpected_drains=("node b drained by someone else",),
    )
    degraded = next(
        c
        for c in compute_conditions(desired=2, workload=stable, health=health, restarting=None)
        if c["type"] == "Degraded"
    )
    assert (degraded["status"], degraded["reason"]) == ("True", "NodesCrashLooping")
    assert degraded["message"] == (
        "pod a: CrashLoopBackOff; node b drained by someone else; the node rollout is stuck: 0/2 nodes ready"
    )
    huge = Health(apply_failures=("x" * 5000,))
    long = compute_conditions(desired=2, workload=stable, health=huge, restarting=None)[2]
    assert len(long["message"]) == 2000


def test_authentication_condition_only_when_known() -> None:
    assert len(compute_conditions(desired=1, workload=None, health=Health(), restarting=None)) == 3
    off = compute_conditions(desired=1, workload=None, health=Health(), restarting=None, auth_enabled=False)[3]
    assert (off["type"], off["status"], off["reason"]) == ("AuthenticationDisabled", "True", "AuthenticationDisabled")
    on = compute_conditions(desired=1, workload=None, health=Health(), restarting=None, auth_enabled=True)[3]
    assert (on["status"], on["reason"]) == ("False", "AuthenticationEnabled")


def test_workload_view_reads_a_deployment() -> None:
    deployment = {
        "metadata": {"generation": 4},
        "status": {
            "observedGeneration": 4,
            "replicas": 2,
            "readyReplicas": 1,
            "updatedReplicas": 2,
            "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
        },
    }
    assert WorkloadView.from_deployment(deployment) == WorkloadView(
        generation=4, observed_generation=4, replicas=2, ready_replicas=1, updated_replicas=2, deadline_exceeded=True
    )
    assert WorkloadView.from_deployment(None) is None


def test_transition_time_moves_only_when_status_changes() -> None:
    first = merge_conditions(
        old=None, generation=1, now=NOW, new=[{"type": "Available", "status": "False", "reason": "r", "message": "m"}]
    )
    assert first[0]["lastTransitionTime"] == "2030-01-01T00:00:00Z" and first[0]["observedGeneration"] == 1
    later = NOW + timedelta(minutes=5)
    same = merge_conditions(
        old=first,
        generation=2,
        now=later,
        new=[{"type": "Available", "status": "False", "reason": "r2", "message": "m2"}],
    )
    assert same[0]["lastTransitionTime"] == "2030-01-01T00:00:00Z" and same[0]["reason"] == "r2"
    flipped = merge_conditions(
        old=same, generation=2, now=later, new=[{"type": "Available", "status": "True", "reason": "r", "message": "m"}]
    )
    assert flipped[0]["lastTransitionTime"] == "2030-01-01T00:05:00Z"
    unknown = {"type": "AuthenticationDisabled", "status": "True", "reason": "x", "lastTransitionTime": "t"}
    kept = merge_conditions(old=[*flipped, unknown], generation=3, now=later, new=[dict(flipped[0])])
    assert kept[1] == unknown  # a writer that does not compute it leaves it alone
