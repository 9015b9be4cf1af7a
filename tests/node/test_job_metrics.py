"""The finished-job series of ``/metrics``: counts by queue and final state, and the run-time histogram."""

from __future__ import annotations

import re

import pytest

from jqm_node.jobstats import DURATION_BUCKETS, JobStats
from jqm_node.model import JobDefinition, JobInstance, Queue, State
from tests.node.conftest import StartNode, shell_job
from tests.prometheus import samples


def job(*, state: State, began: float | None, ended: float, queue: str = "DEFAULT") -> JobInstance:
    return JobInstance(
        id=1, definition=JobDefinition(id=1, name="A", path="true"), queue=Queue(id=1, name=queue), state=state,
        rank=1.0, enqueue_date=0.0, began_date=began, end_date=ended,
    )  # fmt: skip


def test_histogram_buckets_are_cumulative_and_cancelled_jobs_have_no_duration() -> None:
    stats = JobStats()
    stats.record(job(state=State.ENDED, began=10.0, ended=10.3))  # 0.3 s
    stats.record(job(state=State.ENDED, began=10.0, ended=17.0))  # 7 s
    stats.record(job(state=State.ENDED, began=0.0, ended=90_000.0))  # beyond the last bucket
    stats.record(job(state=State.CANCELLED, began=None, ended=5.0))
    stats.record(job(state=State.CRASHED, began=1.0, ended=2.0, queue='odd "name"'))
    found = samples("\n".join(stats.exposition()) + "\n")
    ended = 'queue="DEFAULT",state="ENDED"'
    assert found[f"jqm_jobs_finished_total{{{ended}}}"] == 3
    assert found['jqm_jobs_finished_total{queue="DEFAULT",state="CANCELLED"}'] == 1
    assert found[f'jqm_job_duration_seconds_bucket{{{ended},le="0.1"}}'] == 0
    assert found[f'jqm_job_duration_seconds_bucket{{{ended},le="0.5"}}'] == 1
    assert found[f'jqm_job_duration_seconds_bucket{{{ended},le="10"}}'] == 2
    assert found[f'jqm_job_duration_seconds_bucket{{{ended},le="{DURATION_BUCKETS[-1]:g}"}}'] == 2
    assert found[f'jqm_job_duration_seconds_bucket{{{ended},le="+Inf"}}'] == 3
    assert found[f"jqm_job_duration_seconds_count{{{ended}}}"] == 3
    assert found[f"jqm_job_duration_seconds_sum{{{ended}}}"] == pytest.approx(90_007.3)
    assert not any("CANCELLED" in name for name in found if name.startswith("jqm_job_duration"))
    assert 'jqm_jobs_finished_total{queue="odd \\"name\\"",state="CRASHED"}' in found


@pytest.mark.integration
def test_a_node_counts_its_finished_jobs(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("Ok", "true"), shell_job("Fail", "exit 3")]})
    for application in ("Ok", "Ok", "Fail"):
        node.wait_state(node.enqueue(application), "ENDED", "CRASHED")
    text = node.manage("GET", "/metrics")[2].decode()
    assert 'jqm_jobs_finished_total{queue="DEFAULT",state="ENDED"} 2' in text
    assert 'jqm_jobs_finished_total{queue="DEFAULT",state="CRASHED"} 1' in text
    assert 'jqm_job_duration_seconds_count{queue="DEFAULT",state="ENDED"} 2' in text
    assert re.search(r'^jqm_job_duration_seconds_bucket\{queue="DEFAULT",state="ENDED",le="\+Inf"\} 2$', text, re.M)
    assert "# TYPE jqm_job_duration_seconds histogram" in text
    assert f'jqm_node_info{{ip="{node.ip}",' in text and "jqm_ids_capacity 1000000" in text
