"""The history held for nodes that left: retention by count and age, 410 once expired, never another job."""

from __future__ import annotations

from pathlib import Path

import pytest

from jqm_node.engine import Engine
from jqm_node.errors import GoneError, NotFoundError
from jqm_node.history import HeldHistory, LogPack
from jqm_node.ids import id_base
from jqm_node.model import Deliverable, HeldJob, JobDefinition, JobRequest, Queue, State
from jqm_node.workspace import Workspace
from tests.node.test_engine import ManualRunner

GONE = "10.244.0.9"


def held(n: int, *, ended: float, pack: LogPack | None = None) -> HeldJob:
    job_id = id_base(GONE) + n
    job = HeldJob(
        id=job_id,
        definition=JobDefinition(id=0, name="Gone", path=""),
        queue=Queue(id=1, name="DEFAULT"),
        state=State.ENDED,
        rank=1,
        enqueue_date=ended - 10,
        began_date=ended - 5,
        end_date=ended,
        origin_node="node-9",
    )
    if pack is not None:
        job.stdout_ref = pack.append(f"out {n}".encode())
        job.stderr_ref = pack.append(b"")
    job.deliverables = [Deliverable(id=job_id + 500, job_id=job_id, path="x", file_family="Gone", original_name="r")]
    return job


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.create()
    return workspace


def test_retention_by_count_drops_those_that_ended_first(workspace: Workspace) -> None:
    history = HeldHistory(workspace=workspace, max_jobs=2, max_age=0)
    first, second = history.new_pack(GONE), history.new_pack(GONE)
    for n, ended, pack in ((0, 300.0, second), (1, 100.0, first), (2, 200.0, second)):
        history.add(held(n, ended=ended, pack=pack))
    first.close()
    second.close()
    assert history.log(history.jobs[id_base(GONE) + 1], "stdout") == b"out 1"
    assert history.expire(now=1000.0) == [id_base(GONE) + 1]
    assert sorted(history.jobs) == [id_base(GONE), id_base(GONE) + 2]
    assert id_base(GONE) + 501 not in history.deliverables
    assert not (history.packs / first.name).exists(), "a log pack goes with its last job"
    assert history.log(history.jobs[id_base(GONE) + 2], "stdout") == b"out 2"
    assert history.log(history.jobs[id_base(GONE) + 2], "stderr") == b""
    assert history.expired_total == 1


def test_retention_by_age(workspace: Workspace) -> None:
    history = HeldHistory(workspace=workspace, max_jobs=0, max_age=60)
    history.add(held(0, ended=1000.0))
    history.add(held(1, ended=1050.0))
    assert history.expire(now=1059.0) == []
    assert history.expire(now=1061.0) == [id_base(GONE)]
    assert history.expire(now=1111.0) == [id_base(GONE) + 1]
    assert history.retention_text() == "60s after their end"


def test_the_engine_answers_held_jobs_and_410_once_they_expired(workspace: Workspace) -> None:
    history = HeldHistory(workspace=workspace, max_jobs=1, max_age=0)
    engine = Engine(
        ip="10.244.0.5",
        node_name="n",
        queues=[Queue(id=1, name="DEFAULT", default=True)],
        definitions=[JobDefinition(id=0, name="job", path="true")],
        runner=ManualRunner(workspace),  # type: ignore[arg-type]
        id_limit=100,
        history=history,
    )
    own = engine.enqueue(JobRequest(application_name="job"))
    history.add_range(GONE, 0, 1000)
    history.add(held(7, ended=100.0))
    history.add(held(3, ended=200.0))
    history.sort()
    assert [job.id for job in engine.in_id_order()] == sorted([own.id, id_base(GONE) + 3, id_base(GONE) + 7])
    history.expire()
    assert engine.get(id_base(GONE) + 3).state is State.ENDED
    assert engine.deliverable(id_base(GONE) + 503).original_name == "r"
    with pytest.raises(GoneError, match=r"its node 10\.244\.0\.9 left the cluster and its history has expired") as e:
        engine.get(id_base(GONE) + 7)
    assert e.value.status == 410 and e.value.code == 1
    with pytest.raises(GoneError):
        engine.get(id_base(GONE) + 999)  # never handed over (deleted before): 410 too, never "some other job"
    with pytest.raises(NotFoundError):
        engine.get(id_base(GONE) + 1000)  # outside what was handed over
    assert engine.knows(id_base(GONE) + 3) and not engine.knows(id_base(GONE) + 7)
