"""Waiting and following logs, driven step by step with scripted answers and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from jqm_client import JobInstance, JobTimeoutError, LogChunk, LogStream, PollPolicy, State
from jqm_client.plans import Plan, Sleep, follow_logs, wait
from jqm_client.protocol import Call

POLICY = PollPolicy(initial=0.2, factor=2.0, maximum=1.0)


def job(state: State) -> JobInstance:
    return JobInstance(id=7, application_name="A", state=state)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(plan: Plan[Any], answer: Any, clock: Clock | None = None) -> tuple[list[Any], Any]:
    """Drives ``plan``: ``answer(call)`` answers Calls; Sleeps advance ``clock``. Returns (steps, result)."""
    steps: list[Any] = []
    reply: Any = None
    while True:
        try:
            step = plan.send(reply)
        except StopIteration as stop:
            return steps, stop.value
        steps.append(step)
        reply = None
        if isinstance(step, Call):
            reply = answer(step)
        elif isinstance(step, Sleep) and clock is not None:
            clock.now += step.seconds


def test_wait_polls_with_a_growing_bounded_delay_until_a_final_state() -> None:
    states = iter([State.SUBMITTED, State.RUNNING, State.RUNNING, State.RUNNING, State.RUNNING, State.ENDED])
    seen: list[State] = []
    steps, result = run(
        wait(7, policy=POLICY, on_update=lambda j: seen.append(j.state)), lambda call: job(next(states))
    )
    assert result.state is State.ENDED
    assert [s.seconds for s in steps if isinstance(s, Sleep)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert all(s.request.target == "/ws/client/ji/7" for s in steps if isinstance(s, Call))
    assert seen[-1] is State.ENDED and len(seen) == 6


def test_wait_gives_up_at_the_deadline_with_the_last_state() -> None:
    clock = Clock()
    with pytest.raises(JobTimeoutError) as caught:
        run(wait(7, timeout=1.5, policy=POLICY, clock=clock), lambda call: job(State.RUNNING), clock)
    assert (caught.value.job_id, caught.value.state, caught.value.timeout) == (7, State.RUNNING, 1.5)
    assert clock.now == pytest.approx(101.5)  # the last sleep is cut to the deadline, then one last look


def test_wait_returns_at_once_for_a_finished_job() -> None:
    steps, result = run(wait(7, timeout=0, policy=POLICY), lambda call: job(State.CANCELLED))
    assert result.state is State.CANCELLED and len(steps) == 1


def test_follow_reads_new_bytes_only_and_everything_at_the_end() -> None:
    states = iter([State.SUBMITTED, State.RUNNING, State.RUNNING, State.ENDED])
    stdout = iter([b"ab", b"", b"cd"])
    stderr = iter([b"", b"", b"!"])

    def answer(call: Call[Any]) -> Any:
        path = call.request.path
        if path.endswith("/stdout"):
            return next(stdout)
        if path.endswith("/stderr"):
            return next(stderr)
        return job(next(states))

    steps, result = run(follow_logs(7, policy=POLICY), answer)
    assert result.state is State.ENDED
    log_calls = [s for s in steps if isinstance(s, Call) and "/std" in s.request.path]
    ranges = [(s.request.path.rsplit("/", 1)[1], s.request.headers.get("Range")) for s in log_calls]
    # Nothing is read while the job waits; then each read starts where the last one ended.
    assert ranges == [
        ("stdout", None), ("stderr", None),
        ("stdout", "bytes=2-"), ("stderr", None),
        ("stdout", "bytes=2-"), ("stderr", None),
    ]  # fmt: skip
    assert [s for s in steps if isinstance(s, LogChunk)] == [
        LogChunk(LogStream.STDOUT, b"ab"),
        LogChunk(LogStream.STDOUT, b"cd"),
        LogChunk(LogStream.STDERR, b"!"),
    ]
    # The delay starts over after output, and grows while there is none.
    assert [s.seconds for s in steps if isinstance(s, Sleep)] == [0.2, 0.2, 0.4]


def test_follow_one_stream_and_time_out() -> None:
    clock = Clock()

    def answer(call: Call[Any]) -> Any:
        return b"" if "/std" in call.request.path else job(State.RUNNING)

    with pytest.raises(JobTimeoutError):
        run(follow_logs(7, [LogStream.STDERR], timeout=2, policy=POLICY, clock=clock), answer, clock)


def test_poll_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="poll policy"):
        PollPolicy(initial=0)
    with pytest.raises(ValueError, match="poll policy"):
        PollPolicy(initial=3, maximum=2)
