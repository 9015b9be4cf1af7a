"""Status computation: node list, ID usage, conditions and their transition times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jqm_operator.decisions.restart import NodeObservation
from jqm_operator.status import (
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
    conditions = compute_conditions(desired=3, workload=workload, apply_error=None, restarting=None)
    assert by_type(conditions) == {
        "Available": ("True", "NodesReady"),
        "Progressing": ("False", "Stable"),
        "Degraded": ("False", "AsExpected"),
    }


def test_conditions_while_rolling_restarting_failing() -> None:
    rolling = WorkloadView(generation=3, observed_generation=2, replicas=3, ready_replicas=0, updated_replicas=0)
    assert by_type(compute_conditions(desired=3, workload=rolling, apply_error=None, restarting=None)) == {
        "Available": ("False", "NoNodeReady"),
        "Progressing": ("True", "RollingOut"),
        "Degraded": ("False", "AsExpected"),
    }
    stable = WorkloadView(generation=1, observed_generation=1, replicas=2, ready_replicas=1, updated_replicas=2)
    restarting = compute_conditions(desired=2, workload=stable, apply_error=None, restarting="node a")
    assert by_type(restarting)["Progressing"] == ("True", "IdLimitRestart")
    failed = compute_conditions(desired=2, workload=None, apply_error="403 Forbidden", restarting=None)
    assert by_type(failed)["Degraded"] == ("True", "ApplyFailed")
    stuck = WorkloadView(
        generation=1, observed_generation=1, replicas=2, ready_replicas=1, updated_replicas=2, deadline_exceeded=True
    )
    assert by_type(compute_conditions(desired=2, workload=stuck, apply_error=None, restarting=None)) == {
        "Available": ("True", "NodesReady"),
        "Progressing": ("False", "Stalled"),
        "Degraded": ("True", "ProgressDeadlineExceeded"),
    }
    zero = compute_conditions(desired=0, workload=None, apply_error=None, restarting=None)
    assert by_type(zero)["Available"] == ("True", "ScaledToZero")


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
