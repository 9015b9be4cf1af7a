"""The pure recovery decision for nodes drained by someone else, and the pod problems behind Degraded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jqm_operator.decisions import drains as d
from jqm_operator.decisions.observation import NodeObservation
from jqm_operator.decisions.pods import CRASH_LOOPING, NOT_STARTING, UNSCHEDULABLE, pod_problems

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def node(name: str, **kw: Any) -> NodeObservation:
    values = {"reachable": True, "draining": True, "drain_reason": "manual", **kw}
    return NodeObservation(pod=name, uid=f"uid-{name}", **values)


def record(name: str, *, replaced: bool = False) -> d.Recovery:
    return d.Recovery(pod=name, pod_uid=f"uid-{name}", since=NOW, reason="manual", replaced=replaced)


def test_what_counts_as_unexpected() -> None:
    assert d.is_unexpected(node("a"), operator_drain_uid=None)
    assert not d.is_unexpected(node("a"), operator_drain_uid="uid-a")  # the operator's ID-limit drain
    assert not d.is_unexpected(node("a", drain_reason="sigterm"), operator_drain_uid=None)
    assert not d.is_unexpected(node("a", stopping=True), operator_drain_uid=None)
    assert not d.is_unexpected(node("a", terminating=True), operator_drain_uid=None)
    assert not d.is_unexpected(node("a", reachable=False), operator_drain_uid=None)
    assert not d.is_unexpected(node("a", draining=False), operator_drain_uid=None)


def test_first_undrain_then_replace_then_wait_for_the_pod_to_go() -> None:
    first = d.plan(nodes=[node("a"), node("b", draining=False)], records=[], operator_drain_uid=None, now=NOW)
    assert [(s.action, s.node.pod) for s in first.steps] == [(d.UNDRAIN, "a")]
    assert first.records == (record("a"),) and first.recovered == ()
    later = NOW + timedelta(seconds=15)
    second = d.plan(nodes=[node("a")], records=first.records, operator_drain_uid=None, now=later)
    assert [(s.action, s.node.pod) for s in second.steps] == [(d.REPLACE, "a")]
    assert second.records == (record("a", replaced=True),)  # keeps its first "since"
    finishing = d.plan(nodes=[node("a", terminating=True)], records=second.records, operator_drain_uid=None, now=later)
    assert finishing.steps == () and finishing.records == second.records
    gone = d.plan(nodes=[], records=second.records, operator_drain_uid=None, now=later)
    assert gone.records == () and gone.recovered == second.records


def test_records_wait_while_the_node_does_not_answer_and_close_once_it_works() -> None:
    silent = d.plan(nodes=[node("a", reachable=False)], records=[record("a")], operator_drain_uid=None, now=NOW)
    assert silent.steps == () and silent.records == (record("a"),)
    working = d.plan(nodes=[node("a", draining=False)], records=[record("a")], operator_drain_uid=None, now=NOW)
    assert working.records == () and working.recovered == (record("a"),)


def test_records_survive_the_status_and_quote_what_the_node_said() -> None:
    long = "x" * 500
    stored = d.Recovery(pod="a", pod_uid="u", since=NOW, reason=long, replaced=True).to_status()
    assert stored["since"] == "2030-01-01T00:00:00Z" and len(stored["drainReason"]) == d.REASON_CHARS
    back = d.Recovery.from_status(stored)
    assert back is not None and (back.pod_uid, back.replaced, back.since) == ("u", True, NOW)
    assert d.Recovery.from_status({"pod": "a"}) is None and d.Recovery.from_status("junk") is None
    assert d.shown_reason(None) == "none given" and d.shown_reason("a'b") == '"a\'b"'


def container(waiting: str, **extra: Any) -> dict[str, Any]:
    return {"name": "jqm-node", "state": {"waiting": {"reason": waiting, **extra}}, "restartCount": 4}


def pod(name: str, *containers: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"containerStatuses": list(containers), **status}}


def test_pod_problems_name_the_reason_and_the_last_message() -> None:
    looping = container("CrashLoopBackOff")
    looping["lastState"] = {"terminated": {"exitCode": 2, "message": "config error:\n  queue X missing\n" + "y" * 1000}}
    pods = [
        pod("b", looping),
        pod("a", container("ImagePullBackOff", message="pull access denied")),
        pod("c", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3"}]),
        pod("d", {"name": "jqm-node", "state": {"running": {}}}),
        {"metadata": {"name": "e", "deletionTimestamp": "x"}, "status": {"containerStatuses": [looping]}},
    ]
    problems = pod_problems(pods)
    assert [(p.pod, p.reason) for p in problems] == [("a", NOT_STARTING), ("b", CRASH_LOOPING), ("c", UNSCHEDULABLE)]
    assert problems[0].message == "pod a: ImagePullBackOff: pull access denied"
    assert problems[1].message.startswith(
        "pod b: CrashLoopBackOff after 4 restarts, last exit code 2: config error: queue X"
    )
    assert len(problems[1].message) < 400
    assert problems[2].message == "pod c cannot be scheduled: 0/3"
