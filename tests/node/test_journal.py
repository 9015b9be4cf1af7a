"""The journal: every acknowledged change is recorded, and a new engine gets every job back from it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jqm_node.engine import Engine
from jqm_node.errors import UnavailableError
from jqm_node.history import HeldHistory
from jqm_node.journal import Journal, read_journal
from jqm_node.model import HeldJob, JobDefinition, JobRequest, Queue, State
from jqm_node.records import Catalog, job_from_fields, job_to_fields
from jqm_node.recovery import CRASHED_AT_RESTART, adopt_held, live_records, rebuild
from jqm_node.workspace import Workspace
from tests.node.test_engine import ManualRunner


def make(runner: ManualRunner, journal: Journal | None, *, definitions: tuple[str, ...] = ("job", "other")) -> Engine:
    queues = [Queue(id=1, name="DEFAULT", max_threads=1, default=True), Queue(id=2, name="side", max_threads=1)]
    return Engine(
        ip="127.0.0.1",
        node_name="n",
        queues=queues,
        definitions=[JobDefinition(id=0, name=name, path="true", parameters={"a": "1"}) for name in definitions],
        runner=runner,  # type: ignore[arg-type]
        id_limit=1000,
        journal=journal,
        history=HeldHistory(workspace=runner.workspace, max_jobs=0, max_age=0),
    )


@pytest.fixture
def runner(tmp_path: Path) -> ManualRunner:
    workspace = Workspace(tmp_path)
    workspace.create()
    return ManualRunner(workspace)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.open()
    return journal


def restart(runner: ManualRunner, journal: Journal, **options: tuple[str, ...]) -> tuple[Engine, list[int], list[int]]:
    """What a node does at start: replay, rebuild, compact, adopt."""
    journal.close()
    content = read_journal(journal.path)
    engine = make(runner, journal, **options)
    recovered = rebuild(content, Catalog(engine.definitions, engine.queues))
    adopt_held(engine.history, content, recovered)
    journal.rewrite(live_records(recovered.jobs, engine.history, content.lineage))
    engine.adopt(recovered.jobs)
    return engine, recovered.crashed, recovered.cancelled


async def test_every_state_comes_back(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    done = engine.enqueue(JobRequest(application_name="job", user="ann", parameters={"p": "x"}))
    runner.workspace.prepare_job(done.id)
    (Path(runner.workspace.delivery_dir(done.id)) / "r.csv").write_text("data")
    runner.finish(done.id)
    running = engine.enqueue(JobRequest(application_name="job", keyword1="k"))
    engine.kill(running.id)  # a message, still running
    queued = engine.enqueue(JobRequest(application_name="job", priority=5))
    held = engine.enqueue(JobRequest(application_name="job", start_state=State.HOLDED))
    scheduled = engine.enqueue(JobRequest(application_name="other", run_after=time.time() + 3600))
    deleted = engine.enqueue(JobRequest(application_name="job"))
    engine.delete_waiting(deleted.id)
    moved = engine.enqueue(JobRequest(application_name="job"))
    engine.set_queue(moved.id, engine.queues["side"])  # starts at once on its own queue
    before = {job.id: job_to_fields(job) for job in engine.jobs.values()}

    runner2 = ManualRunner(runner.workspace)
    again, crashed, cancelled = restart(runner2, journal)
    assert set(again.jobs) == set(before) and deleted.id not in again.jobs
    assert crashed == sorted([running.id, moved.id]) and cancelled == []
    for job_id, fields in before.items():
        job = again.jobs[job_id]
        if job_id in crashed:
            assert job.state is State.CRASHED and job.messages and job.messages[-1] == CRASHED_AT_RESTART
            continue
        if job_id == queued.id:  # started again at once: compare what it was, not its new state
            fields, now = fields[:3] + fields[4:19], job_to_fields(job)
            assert now[:3] + now[4:19] == fields
            continue
        assert job_to_fields(job) == fields, job_id
    assert again.jobs[done.id].deliverables[0].original_name == "r.csv"  # type: ignore[index]
    assert again.deliverable(done.deliverables[0].id).job_id == done.id  # type: ignore[index]
    assert again.jobs[running.id].messages == ["Kill attempt on the job", CRASHED_AT_RESTART]
    assert runner2.started == [queued.id], "queued jobs run again, held and scheduled ones wait"
    assert again.jobs[held.id].state is State.HOLDED
    assert again.jobs[scheduled.id].state is State.SCHEDULED
    newest = again.enqueue(JobRequest(application_name="job"))
    assert newest.rank > max(job.rank for job in again.jobs.values() if job is not newest), "new jobs go last"


async def test_compaction_keeps_one_record_per_job(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    for _ in range(20):
        job = engine.enqueue(JobRequest(application_name="job"))
        runner.finish(job.id)
    journal.block(0, 128)
    lines_before = journal.path.read_text().count("\n")
    restart(ManualRunner(runner.workspace), journal)
    lines = journal.path.read_text().splitlines()
    assert lines_before == 20 * 3 + 1 and len(lines) == 1 + 1 + 20  # version, block, one record per job
    assert json.loads(lines[0]) == ["N", 1] and json.loads(lines[1]) == ["B", 0, 128]
    assert read_journal(journal.path).lineage == [(0, 128)]


async def test_a_torn_last_line_is_skipped(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    kept = engine.enqueue(JobRequest(application_name="job"))
    with journal.path.open("ab") as f:
        f.write(b'["J",2130706433000009,"job","DEF')  # the process died in the middle of a write
    content = read_journal(journal.path)
    assert list(content.jobs) == [kept.id] and content.damaged == 1


async def test_a_removed_definition_cancels_its_waiting_jobs(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    engine.enqueue(JobRequest(application_name="job"))  # runs: takes the only slot
    orphan = engine.enqueue(JobRequest(application_name="other"))
    again, _, cancelled = restart(ManualRunner(runner.workspace), journal, definitions=("job",))
    assert cancelled == [orphan.id]
    job = again.jobs[orphan.id]
    assert job.state is State.CANCELLED
    assert job.messages == ["Cancelled when the node started again: its job definition other is no longer configured"
                            " on this node"]  # fmt: skip


async def test_an_enqueue_that_cannot_be_journaled_is_refused(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    journal.close()  # as a full disk would: the write fails
    with pytest.raises(UnavailableError, match="cannot write its journal"):
        engine.enqueue(JobRequest(application_name="job"))
    assert engine.jobs == {} and journal.errors == 1


def test_held_jobs_round_trip_with_their_origin() -> None:
    catalog = Catalog({}, {"DEFAULT": Queue(id=1, name="DEFAULT")})
    deliverables = [[2130706440000008, "d/x", "Gone", "x"]]
    fields = [2130706440000007, "Gone", "DEFAULT", "ENDED", 1.0, 10.0, 0, {"k": "v"}, None, "bob", None, None,
              None, None, None, None, None, None, None, 11.0, 12.0, None, ["done"], deliverables]  # fmt: skip
    job = job_from_fields(fields, catalog, HeldJob, origin_node="node-8")
    assert (job.origin_node, job.definition.name, job.parameters) == ("node-8", "Gone", {"k": "v"})
    assert catalog.is_placeholder(job.definition) and not catalog.is_placeholder(job.queue)
    assert job_to_fields(job) == fields


def test_a_job_recorded_killed_by_an_earlier_node_reads_as_crashed() -> None:
    """Nodes before this version ended killed jobs KILLED; upstream's killed jobs end CRASHED (release notes
    3.0, "KILLED is no longer a job status"): journals and handovers written then read as CRASHED."""
    catalog = Catalog({}, {"DEFAULT": Queue(id=1, name="DEFAULT")})
    fields = [2130706440000009, "Sleep", "DEFAULT", "KILLED", 1.0, 10.0, 0, None, None, None, None, None,
              None, None, None, None, None, None, None, 11.0, 12.0, None, ["Kill attempt"], None]  # fmt: skip
    assert job_from_fields(fields, catalog).state is State.CRASHED
