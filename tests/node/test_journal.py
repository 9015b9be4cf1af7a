"""The journal: every acknowledged change is recorded, and a new engine gets every job back from it."""

from __future__ import annotations

import json
import os
import subprocess
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
    before = {job.id: job_to_fields(job) for job in engine.in_id_order()}

    runner2 = ManualRunner(runner.workspace)
    again, crashed, cancelled = restart(runner2, journal)
    assert {job.id for job in again.in_id_order()} == set(before) and again.find(deleted.id) is None
    assert crashed == sorted([running.id, moved.id]) and cancelled == []
    for job_id, fields in before.items():
        job = again.get(job_id)
        if job_id in crashed:
            assert job.state is State.CRASHED and job.messages and job.messages[-1] == CRASHED_AT_RESTART
            continue
        if job_id == queued.id:  # started again at once: compare what it was, not its new state
            fields, now = fields[:3] + fields[4:19], job_to_fields(job)
            assert now[:3] + now[4:19] == fields
            continue
        assert job_to_fields(job) == fields, job_id
    assert again.get(done.id).deliverables[0].original_name == "r.csv"  # type: ignore[index]
    assert again.deliverable(done.deliverables[0].id).job_id == done.id  # type: ignore[index]
    assert again.get(running.id).messages == ["Kill attempt on the job", CRASHED_AT_RESTART]
    assert runner2.started == [queued.id], "queued jobs run again, held and scheduled ones wait"
    assert again.get(held.id).state is State.HOLDED
    assert again.get(scheduled.id).state is State.SCHEDULED
    newest = again.enqueue(JobRequest(application_name="job"))
    assert newest.rank > max(job.rank for job in again.in_id_order() if job is not newest), "new jobs go last"


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
    assert json.loads(lines[0]) == ["N", 2] and json.loads(lines[1]) == ["B", 0, 128]
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
    job = again.get(orphan.id)
    assert job.state is State.CANCELLED
    assert job.messages == ["Cancelled when the node started again: its job definition other is no longer configured"
                            " on this node"]  # fmt: skip


async def test_an_enqueue_that_cannot_be_journaled_is_refused(runner: ManualRunner, journal: Journal) -> None:
    engine = make(runner, journal)
    journal.close()  # as a full disk would: the write fails
    with pytest.raises(UnavailableError, match="cannot write its journal"):
        engine.enqueue(JobRequest(application_name="job"))
    assert list(engine.in_id_order()) == [] and journal.errors == 1


def test_held_jobs_round_trip_with_their_origin() -> None:
    catalog = Catalog({}, {"DEFAULT": Queue(id=1, name="DEFAULT")})
    deliverables = [[2130706440000008, "d/x", "Gone", "x"]]
    fields = [2130706440000007, "Gone", "DEFAULT", "ENDED", 1.0, 10.0, 0, {"k": "v"}, None, "bob", None, None,
              None, None, None, None, None, None, None, 11.0, 12.0, None, ["done"], deliverables]  # fmt: skip
    job = job_from_fields(fields, catalog, HeldJob, origin_node="node-8")
    assert (job.origin_node, job.definition.name, job.parameters) == ("node-8", "Gone", {"k": "v"})
    assert catalog.is_placeholder(job.definition) and not catalog.is_placeholder(job.queue)
    assert job_to_fields(job) == [*fields, 0]  # fromSchedule, added at the end


def test_a_job_recorded_killed_by_an_earlier_node_reads_as_crashed() -> None:
    """Nodes before this version ended killed jobs KILLED; upstream's killed jobs end CRASHED (release notes
    3.0, "KILLED is no longer a job status"): journals and handovers written then read as CRASHED."""
    catalog = Catalog({}, {"DEFAULT": Queue(id=1, name="DEFAULT")})
    fields = [2130706440000009, "Sleep", "DEFAULT", "KILLED", 1.0, 10.0, 0, None, None, None, None, None,
              None, None, None, None, None, None, None, 11.0, 12.0, None, ["Kill attempt"], None]  # fmt: skip
    assert job_from_fields(fields, catalog).state is State.CRASHED


def test_a_version_1_journal_is_read_with_its_shorter_job_records(tmp_path: Path) -> None:
    """Version 1 job records have no fromSchedule: the pid of a running job, and a held job's log references,
    follow the 24th field. A node of this version must read them there (and kill the orphan it names)."""
    job_id = 2130706433000042
    orphan = subprocess.Popen(["sleep", "60"], env={"JQM_JI_ID": str(job_id), "PATH": os.environ["PATH"]},
                              process_group=0)  # fmt: skip
    try:
        running = [job_id, "job", "DEFAULT", "RUNNING", 1.0, 10.0, 0, None, None, None, None, None,
                   None, None, None, None, None, None, None, 11.0, None, None, None, None]  # fmt: skip
        held = [2130706440000007, "job", "DEFAULT", "ENDED", 1.0, 10.0, 0, None, None, None, None, None,
                None, None, None, None, None, None, None, 11.0, 12.0, None, None, None]  # fmt: skip
        lines = [["N", 1], ["J", *running, orphan.pid], ["H", "127.0.0.8", "node-8", *held, ["p", 0, 3], None]]
        path = tmp_path / "journal.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        content = read_journal(path)
        assert content.job_fields == 24
        catalog = Catalog(
            {"job": JobDefinition(id=1, name="job", path="true")}, {"DEFAULT": Queue(id=1, name="DEFAULT")}
        )
        recovered = rebuild(content, catalog)
        assert recovered.orphans_killed == 1 and recovered.crashed == [job_id]
        assert orphan.wait(timeout=10) == -9
        assert recovered.held[0].stdout_ref == ("p", 0, 3) and recovered.held[0].from_schedule is False
    finally:
        orphan.kill()
        orphan.wait()
