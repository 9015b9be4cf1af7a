"""The restart decision: thresholds, one node at a time, the budget, and resuming after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jqm_operator.decisions import restart as r
from jqm_operator.model import IdLimitPolicy

NOW = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = IdLimitPolicy()


def node(name: str, *, used: int = 0, capacity: int = 1_000_000, **kw: object) -> r.NodeObservation:
    values = {"ready": True, "reachable": True, **kw}
    return r.NodeObservation(pod=name, uid=f"uid-{name}", ip="10.0.0.1", ids_used=used, id_capacity=capacity, **values)  # type: ignore[arg-type]


def decide(
    nodes: list[r.NodeObservation],
    *,
    state: r.DrainState | None = None,
    allowed: int | None = 1,
    policy: IdLimitPolicy = POLICY,
    replicas: int | None = None,
    now: datetime = NOW,
) -> r.Decision:
    return r.decide(
        policy=policy,
        nodes=nodes,
        state=state,
        disruptions_allowed=allowed,
        desired_replicas=len(nodes) if replicas is None else replicas,
        now=now,
    )


def drain_state(pod: str = "a", *, started: datetime = NOW, evicted: bool = False) -> r.DrainState:
    return r.DrainState(pod=pod, pod_uid=f"uid-{pod}", started_at=started, ip="10.0.0.1", evicted=evicted)


@pytest.mark.parametrize(
    ("fraction", "used", "action"),
    [
        (0.95, 949_999, r.IDLE),
        (0.95, 950_000, r.START_DRAIN),
        (0.5, 500_000, r.START_DRAIN),
        (1.0, 999_999, r.IDLE),
        (1.0, 1_000_000, r.START_DRAIN),
    ],
)
def test_fraction_threshold(fraction: float, used: int, action: str) -> None:
    policy = IdLimitPolicy(restart_threshold=fraction)
    assert decide([node("a", used=used), node("b")], policy=policy).action == action


def test_absolute_threshold_wins_and_works_when_low() -> None:
    policy = IdLimitPolicy(restart_threshold=0.95, restart_threshold_ids=20)
    assert decide([node("a", used=19), node("b")], policy=policy).action == r.IDLE
    decision = decide([node("a", used=20), node("b")], policy=policy)
    assert decision.action == r.START_DRAIN
    assert decision.state is not None and decision.state.pod == "a"


def test_threshold_follows_the_capacity_the_node_reports() -> None:
    assert decide([node("a", used=95, capacity=100), node("b")]).action == r.START_DRAIN
    assert decide([node("a", used=94, capacity=100), node("b")]).action == r.IDLE


def test_the_fullest_node_goes_first_and_alone() -> None:
    decision = decide([node("a", used=960_000), node("b", used=990_000), node("c", used=970_000)])
    assert decision.action == r.START_DRAIN
    assert decision.state is not None and decision.state.pod == "b"
    assert decision.state.started_at == NOW and decision.state.ids_used == 990_000


def test_one_at_a_time_while_a_drain_is_recorded() -> None:
    nodes = [node("a", used=990_000, draining=True, running=1), node("b", used=999_000)]
    decision = decide(nodes, state=drain_state("a"))
    assert decision.action == r.WAIT_DRAIN
    assert decision.state == drain_state("a")


def test_blocked_while_a_pod_terminates() -> None:
    nodes = [node("a", used=990_000), node("b", ready=False, terminating=True)]
    assert decide(nodes).action == r.BLOCKED


def test_blocked_while_another_node_is_not_ready() -> None:
    nodes = [node("a", used=990_000), node("b", ready=False)]
    decision = decide(nodes)
    assert decision.action == r.BLOCKED
    assert "ready" in decision.message


def test_blocked_while_replicas_are_missing() -> None:
    assert decide([node("a", used=990_000), node("b")], replicas=3).action == r.BLOCKED


@pytest.mark.parametrize("allowed", [0, None])
def test_never_below_the_budget(allowed: int | None) -> None:
    decision = decide([node("a", used=990_000), node("b")], allowed=allowed)
    assert decision.action == r.BLOCKED
    assert "PodDisruptionBudget" in decision.message


def test_an_unready_node_past_threshold_costs_no_budget() -> None:
    # A node out of IDs reports unhealthy, so it is already unready: draining it removes nothing more.
    nodes = [node("a", used=1_000_000, ready=False), node("b")]
    assert decide(nodes, allowed=0).action == r.START_DRAIN


def test_single_node_cluster_is_restarted_when_budget_allows() -> None:
    assert decide([node("a", used=990_000)], allowed=1).action == r.START_DRAIN


def test_unreachable_nodes_are_not_judged() -> None:
    assert decide([node("a", used=990_000, reachable=False), node("b")]).action == r.IDLE


def test_drained_node_is_evicted() -> None:
    nodes = [node("a", used=990_000, draining=True, ready=False), node("b")]
    decision = decide(nodes, state=drain_state("a"), allowed=0)
    assert (decision.action, decision.reason) == (r.EVICT, "Drained")


def test_a_node_still_taking_jobs_is_not_evicted_yet() -> None:
    # Within its accept window a draining node takes jobs while load balancers notice it is unready.
    nodes = [node("a", used=990_000, draining=True, accepting=True, ready=False), node("b")]
    assert decide(nodes, state=drain_state("a"), allowed=0).action == r.WAIT_DRAIN


def test_drain_timeout_counts_from_the_recorded_start() -> None:
    busy = [node("a", used=990_000, draining=True, ready=False, running=2, queued=1), node("b")]
    policy = IdLimitPolicy(drain_timeout_seconds=60)
    early = decide(busy, state=drain_state("a"), policy=policy, now=NOW + timedelta(seconds=59))
    assert early.action == r.WAIT_DRAIN
    late = decide(busy, state=drain_state("a"), policy=policy, now=NOW + timedelta(seconds=60))
    assert (late.action, late.reason) == (r.EVICT, "DrainTimeout")


def test_operator_restart_does_not_repeat_a_drain_on_another_node() -> None:
    # The record says "a"; "b" is now fuller, but nothing new starts while "a" is under way.
    nodes = [node("a", used=950_000, draining=True, running=1, ready=False), node("b", used=999_999)]
    decision = decide(nodes, state=drain_state("a", started=NOW - timedelta(seconds=30)))
    assert decision.action == r.WAIT_DRAIN
    assert decision.state is not None and decision.state.started_at == NOW - timedelta(seconds=30)


def test_operator_restart_resends_a_recorded_but_unsent_drain() -> None:
    decision = decide([node("a", used=990_000), node("b")], state=drain_state("a"))
    assert decision.action == r.RESEND_DRAIN


def test_a_drain_without_record_is_not_adopted() -> None:
    # Someone else's drain is for decisions.drains to undo, never a restart that ends in an eviction.
    assert decide([node("a", used=10, draining=True, ready=False), node("b")]).action == r.IDLE
    due = decide([node("a", used=990_000, draining=True, ready=False, running=3), node("b")])
    assert due.action == r.START_DRAIN  # due anyway: from now on it is the operator's own, recorded drain
    assert due.state is not None and due.state.pod == "a" and due.state.started_at == NOW


def test_evicted_pod_is_waited_for_then_finished() -> None:
    terminating = [node("a", used=990_000, draining=True, terminating=True, ready=False), node("b")]
    assert decide(terminating, state=drain_state("a", evicted=True)).action == r.WAIT_EVICTION
    assert decide([node("b")], state=drain_state("a", evicted=True)).action == r.FINISH


def test_a_new_pod_with_the_same_name_is_not_the_drained_one() -> None:
    replacement = r.NodeObservation(pod="a", uid="another-uid", reachable=True, ready=True)
    assert decide([replacement], state=drain_state("a", evicted=True)).action == r.FINISH


def test_vanished_pod_without_eviction_is_abandoned() -> None:
    decision = decide([node("b")], state=drain_state("a"))
    assert (decision.action, decision.reason) == (r.ABANDON, "DrainAbandoned")


def test_drain_state_round_trips_through_the_status() -> None:
    state = r.DrainState(pod="a", pod_uid="u", started_at=NOW, ip="10.0.0.1", ids_used=7, evicted=True)
    stored = state.to_status()
    assert stored["startedAt"] == "2030-01-01T00:00:00Z"
    assert r.DrainState.from_status(stored) == state


@pytest.mark.parametrize("stored", [None, {}, {"pod": "a"}, {"pod": "a", "startedAt": "not a time"}])
def test_unreadable_drain_state_is_none(stored: object) -> None:
    assert r.DrainState.from_status(stored) is None
