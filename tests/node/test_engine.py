"""Engine rules (dispatch order, limits, transitions) with a runner whose jobs the test ends by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError, InvalidEnqueueError, NotFoundError, UnavailableError
from jqm_node.model import JobDefinition, JobInstance, JobRequest, Queue, State
from jqm_node.runner import Outcome, RunningJob
from jqm_node.workspace import Workspace
from tests.waiting import wait_until_async


class ManualRunner:
    """Starts nothing: records started jobs; ``finish`` ends one as a process exit would."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.started: list[int] = []
        self._callbacks: dict[int, tuple[RunningJob, Callable[[RunningJob, Outcome], None]]] = {}

    def start(self, job: JobInstance, on_exit: Callable[[RunningJob, Outcome], None]) -> RunningJob:
        running = RunningJob(job=job, pid=1)
        self.started.append(job.id)
        self._callbacks[job.id] = (running, on_exit)
        return running

    def finish(self, job_id: int, exit_code: int = 0) -> None:
        running, on_exit = self._callbacks.pop(job_id)
        on_exit(running, Outcome(exit_code=exit_code, killed=running.kill_requested))

    def kill(self, running: RunningJob) -> None:
        running.kill_requested = True

    def pause(self, running: RunningJob) -> bool:
        running.paused = True
        return True

    def resume(self, running: RunningJob) -> bool:
        running.paused = False
        return True


@pytest.fixture
def runner(tmp_path: Path) -> ManualRunner:
    workspace = Workspace(tmp_path)
    workspace.create()
    return ManualRunner(workspace)


def make_engine(runner: ManualRunner, *, slots: int = 1, id_limit: int = 1000, **jd_options: object) -> Engine:
    queues = [Queue(id=1, name="DEFAULT", max_threads=slots, default=True), Queue(id=2, name="other")]
    definitions = [
        JobDefinition(id=0, name="job", path="true", parameters={"a": "1"}),
        JobDefinition(id=0, name="hl", path="true", highlander=True),
        JobDefinition(id=0, name="fixed", path="true", can_be_restarted=False, **jd_options),  # type: ignore[arg-type]
    ]
    return Engine(
        ip="127.0.0.1",
        node_name="n",
        queues=queues,
        definitions=definitions,
        runner=runner,  # type: ignore[arg-type]
        id_limit=id_limit,
    )


def enqueue(engine: Engine, name: str = "job", **options: object) -> JobInstance:
    return engine.enqueue(JobRequest(application_name=name, **options))  # type: ignore[arg-type]


async def test_dispatch_is_immediate_and_respects_slots(runner: ManualRunner) -> None:
    engine = make_engine(runner, slots=2)
    jobs = [enqueue(engine) for _ in range(3)]
    assert [j.state for j in jobs] == [State.RUNNING, State.RUNNING, State.SUBMITTED]
    runner.finish(jobs[0].id)
    assert jobs[0].state is State.ENDED
    assert jobs[2].state is State.RUNNING
    assert engine.counters().by_queue_and_state[("DEFAULT", State.RUNNING)] == 2


async def test_priority_then_fifo(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    blocker = enqueue(engine)
    low, high, low2, high2 = (enqueue(engine, priority=p) for p in (1, 5, 1, 5))
    assert engine.positions(engine.default_queue) == {high.id: 1, high2.id: 2, low.id: 3, low2.id: 4}
    for expected in (high, high2, low, low2):
        runner.finish(runner.started[-1])
        assert runner.started[-1] == expected.id
    assert blocker.state is State.ENDED


async def test_set_position_moves_a_waiting_job(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    enqueue(engine)
    a, b, c = (enqueue(engine) for _ in range(3))
    engine.set_position(c.id, 1)
    assert list(engine.positions(engine.default_queue)) == [c.id, a.id, b.id]
    engine.set_position(c.id, 2)
    assert list(engine.positions(engine.default_queue)) == [a.id, c.id, b.id]
    engine.set_position(a.id, 99)
    assert list(engine.positions(engine.default_queue)) == [c.id, b.id, a.id]


async def test_highlander_consolidates_waiting_and_never_runs_twice(runner: ManualRunner) -> None:
    engine = make_engine(runner, slots=5)
    first = enqueue(engine, "hl")
    assert first.state is State.RUNNING
    second = enqueue(engine, "hl")
    assert second.state is State.SUBMITTED  # one runs, so the new one waits
    assert enqueue(engine, "hl") is second  # consolidated with the waiting one
    runner.finish(first.id)
    assert second.state is State.RUNNING


async def test_hold_resume_cancel_delete(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    enqueue(engine)
    job = enqueue(engine)
    engine.pause_waiting(job.id)
    assert job.state is State.HOLDED
    engine.resume_waiting(job.id)
    assert job.state is State.SUBMITTED
    engine.cancel(job.id)
    assert job.state is State.CANCELLED
    with pytest.raises(BadRequestError):
        engine.cancel(job.id)
    other = enqueue(engine)
    engine.delete_waiting(other.id)
    with pytest.raises(NotFoundError):
        engine.get(other.id)
    assert engine.counters().by_queue_and_state[("DEFAULT", State.SUBMITTED)] == 0


async def test_start_state_holded(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    job = enqueue(engine, start_state=State.HOLDED)
    assert job.state is State.HOLDED and runner.started == []


async def test_kill_waiting_cancels_and_kill_running_ends_crashed(runner: ManualRunner) -> None:
    """Upstream ClientApiTestJdbc.testKillJob: a killed job ends CRASHED (KILLED is no job status since 3.0)."""
    engine = make_engine(runner)
    running, waiting = enqueue(engine), enqueue(engine)
    engine.kill(waiting.id)
    assert waiting.state is State.CANCELLED
    engine.kill(running.id)
    runner.finish(running.id, exit_code=-15)
    assert running.state is State.CRASHED
    assert running.messages == ["Kill attempt on the job"], "no 'Ended by signal' beside the kill's own message"


async def test_crash_and_restart(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    job = enqueue(engine, parameters={"b": "2"}, keyword1="k")
    runner.finish(job.id, exit_code=3)
    assert job.state is State.CRASHED
    again = engine.restart_crashed(job.id)
    assert again.id != job.id and again.parameters == {"a": "1", "b": "2"} and again.keyword1 == "k"
    with pytest.raises(NotFoundError):
        engine.get(job.id)
    fixed = enqueue(engine, "fixed")
    runner.finish(again.id)
    runner.finish(fixed.id, exit_code=1)
    with pytest.raises(BadRequestError, match="does not allow restarts"):
        engine.restart_crashed(fixed.id)


async def test_run_after_waits_then_runs(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    job = enqueue(engine, run_after=time.time() + 0.05)
    assert job.state is State.SCHEDULED
    await wait_until_async(lambda: job.state is State.RUNNING, what="the scheduled job started", within=5)


async def test_queue_pause_and_clear(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    engine.pause_queue(engine.default_queue)
    jobs = [enqueue(engine) for _ in range(2)]
    assert runner.started == []
    engine.resume_queue(engine.default_queue)
    assert jobs[0].state is State.RUNNING
    held = enqueue(engine, start_state=State.HOLDED)
    # upstream ClientApiTestJdbc.testClearQueue: the waiting jobs of the queue are deleted, not cancelled
    assert engine.clear_queue(engine.default_queue) == 2
    assert engine.find(jobs[1].id) is None and engine.find(held.id) is None
    assert engine.find(jobs[0].id) is jobs[0], "a running job stays"


async def test_invalid_requests(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    with pytest.raises(InvalidEnqueueError, match="no job definition named nope"):
        enqueue(engine, "nope")
    with pytest.raises(InvalidEnqueueError, match="applicationName is empty"):
        enqueue(engine, " ")
    with pytest.raises(InvalidEnqueueError, match="queue missing does not exist"):
        enqueue(engine, queue_name="missing")


async def test_draining_and_exhausted_ids_refuse_new_jobs(runner: ManualRunner) -> None:
    engine = make_engine(runner, id_limit=1)
    enqueue(engine)
    with pytest.raises(UnavailableError, match="must be restarted"):
        enqueue(engine)
    assert not engine.dispatching
    other = make_engine(runner)
    other.drain()
    with pytest.raises(UnavailableError, match="draining"):
        enqueue(other)
    lame_duck = make_engine(runner)
    lame_duck.drain(accept_seconds=600)
    assert not lame_duck.dispatching and lame_duck.accepting
    enqueue(lame_duck)


async def test_one_drain_state_whoever_drains(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    engine.drain(reason="operator: id-limit")
    engine.drain(reason="someone else")
    assert (engine.draining, engine.drain_reason, engine.shutting_down) == (True, "operator: id-limit", False)
    engine.undrain()
    assert (engine.draining, engine.drain_reason, engine.dispatching) == (False, None, True)
    engine.drain(reason="operator: id-limit", accept_seconds=600)
    engine.drain_for_shutdown(accept_seconds=0)
    assert (engine.draining, engine.drain_reason, engine.shutting_down) == (True, "sigterm", True)
    assert engine.accepting, "SIGTERM keeps the accept window of the drain under way"
    engine.drain(reason="operator: id-limit")
    assert engine.drain_reason == "sigterm", "a later drain does not hide why the node stops"


async def test_request_parameters_override_definition_parameters(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    plain = enqueue(engine)
    overridden = enqueue(engine, parameters={"a": "9", "z": "0"})
    assert plain.parameters == {"a": "1"}
    assert overridden.parameters == {"a": "9", "z": "0"}
    assert engine.definitions["job"].parameters == {"a": "1"}


async def test_jobs_are_read_in_id_order_whatever_order_they_came_in(runner: ManualRunner) -> None:
    engine = make_engine(runner)
    later = enqueue(engine, start_state=State.HOLDED)
    earlier = JobInstance(
        id=later.id - 5, definition=engine.definition("job"), queue=engine.default_queue, state=State.ENDED,
        rank=0.0, enqueue_date=time.time(),
    )  # fmt: skip
    engine.adopt([earlier])  # stored after a job of a higher ID
    assert [job.id for job in engine.in_id_order()] == [earlier.id, later.id]
    assert engine.counters().total() == 2 and engine.counters().total([State.ENDED]) == 1
