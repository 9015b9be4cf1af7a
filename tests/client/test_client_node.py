"""The sync client against a real node process over real HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jqm_client import (
    AuthenticationError,
    BadRequestError,
    BasicAuth,
    JobRequest,
    JobTimeoutError,
    JqmClient,
    JqmConnectionError,
    LogStream,
    NotFoundError,
    Query,
    QueueStatus,
    Sort,
    SortColumn,
    State,
)
from tests.client.conftest import Node, _free_port

pytestmark = pytest.mark.integration


def test_enqueue_carries_every_job_request_field(jqm: JqmClient) -> None:
    parent = jqm.enqueue("Echo")
    later = datetime.now(UTC) + timedelta(hours=1)
    job = jqm.enqueue(
        JobRequest(
            application_name="Echo",
            parameters={"p1": "hi", "p2": "there"},
            user="alice",
            session_id="s-1",
            trace_id="t-1",
            application="app",
            module="mod",
            keyword1="k1",
            keyword2="k2",
            keyword3="k3",
            email="alice@example.invalid",
            queue_name="DEFAULT",
            parent_job_id=parent.id,
            priority=5,
            run_after=later,
        )
    )
    seen = jqm.get_job(job.id)
    assert seen.state is State.SCHEDULED  # waits for run_after
    assert (seen.user, seen.session_id, seen.trace_id) == ("alice", "s-1", "t-1")
    assert (seen.application, seen.module, seen.email) == ("app", "mod", "alice@example.invalid")
    assert (seen.keyword1, seen.keyword2, seen.keyword3) == ("k1", "k2", "k3")
    assert seen.parameters == {"p1": "hi", "p2": "there"}
    assert (seen.parent, seen.priority, seen.queue_name) == (parent.id, 5, "DEFAULT")
    assert seen.run_after is not None and abs(seen.run_after - later) < timedelta(seconds=1)
    jqm.cancel(job.id)
    assert jqm.get_job(job.id).state is State.CANCELLED


def test_schedules_are_refused_with_the_nodes_message(jqm: JqmClient) -> None:
    with pytest.raises(BadRequestError, match="not supported"):
        jqm.enqueue(JobRequest(application_name="Echo", recurrence="* * * * *"))


def test_wait_then_read_both_logs(jqm: JqmClient) -> None:
    job = jqm.enqueue(JobRequest(application_name="Echo", parameters={"p1": "hello"}))
    done = jqm.wait(job.id, timeout=30)
    assert done.state is State.ENDED and done.end_date is not None
    assert jqm.log(job.id) == b"out\nhello\n"
    assert jqm.log(job.id, LogStream.STDERR) == b"err\n"


def test_follow_logs_streams_output_while_the_job_runs(jqm: JqmClient) -> None:
    job = jqm.enqueue("Ticker")
    states: list[State] = []
    chunks = []
    for chunk in jqm.follow_logs(job.id, timeout=30, on_update=lambda j: states.append(j.state)):
        chunks.append((states[-1], chunk))
    stdout = b"".join(c.data for _, c in chunks if c.stream is LogStream.STDOUT)
    assert stdout == b"".join(b"tick %d\n" % i for i in range(1, 6))
    assert states[-1] is State.ENDED
    assert any(state is State.RUNNING for state, _ in chunks), "some output must arrive before the end"


def test_wait_times_out_then_kill_ends_the_job(jqm: JqmClient) -> None:
    job = jqm.enqueue("Slow")
    with pytest.raises(JobTimeoutError) as caught:
        jqm.wait(job.id, timeout=0.5)
    assert caught.value.job_id == job.id and not caught.value.state.is_final
    jqm.kill(job.id)
    assert jqm.wait(job.id, timeout=30).state is State.CRASHED


def test_crashed_job_restarts_unless_its_definition_forbids(jqm: JqmClient) -> None:
    crashed = jqm.wait(jqm.enqueue("Fail").id, timeout=30)
    assert crashed.state is State.CRASHED
    again = jqm.restart_crashed(crashed.id)
    assert again.application_name == "Fail"
    forbidden = jqm.wait(jqm.enqueue("NoRestart").id, timeout=30)
    with pytest.raises(BadRequestError, match="does not allow restarts") as caught:
        jqm.restart_crashed(forbidden.id)
    assert caught.value.status == 400 and caught.value.code == 10


def test_unknown_ids_and_applications_raise_typed_errors(jqm: JqmClient, node: Node) -> None:
    own_base = 2130706493 * 1_000_000  # 127.0.0.61, this node: the ID is unknown, not foreign
    with pytest.raises(NotFoundError) as caught:
        jqm.get_job(own_base + 999_999)
    assert caught.value.status == 404 and caught.value.code == 1
    with pytest.raises(BadRequestError) as unknown:
        jqm.enqueue("NoSuchApplication")
    assert unknown.value.code == 6 and "NoSuchApplication" in unknown.value.user_readable_message


def test_query_filters_sorts_and_pages(jqm: JqmClient) -> None:
    tag = f"q-{datetime.now(UTC).timestamp()}"
    ids = [jqm.enqueue(JobRequest(application_name="Echo", keyword1=tag, user="qa")).id for _ in range(3)]
    for job_id in ids:
        jqm.wait(job_id, timeout=30)
    everything = Query(instance_keyword1=tag, live=True, sort=[Sort(SortColumn.ID, descending=True)])
    result = jqm.query(everything)
    assert [j.id for j in result.instances] == sorted(ids, reverse=True)
    assert result.total == 3 and result.missing_nodes == []
    page = jqm.query(Query(instance_keyword1=tag, first_row=1, page_size=1))
    assert [j.id for j in page.instances] == [sorted(ids)[1]] and page.total == 3
    assert jqm.query_ids(Query(instance_keyword1=tag, statuses=[State.ENDED], user="qa")) == sorted(ids)
    assert jqm.query(Query(instance_keyword1=tag, statuses=[State.CRASHED])).total == 0
    assert jqm.query(Query(instance_keyword1="q-%", application_names=["Fail"])).total == 0
    assert jqm.query(Query(job_instance_ids=ids[:2])).total == 2
    assert jqm.query(Query(enqueued_after=datetime.now(UTC) + timedelta(days=1))).total == 0


def test_waiting_job_instructions(jqm: JqmClient) -> None:
    queue = next(q for q in jqm.queues() if q.name == "DEFAULT")
    jqm.pause_queue(queue.id)
    try:
        assert jqm.queue_status(queue.id) is QueueStatus.PAUSED
        first, second = jqm.enqueue("Echo").id, jqm.enqueue("Echo").id
        jqm.pause(first)
        assert jqm.get_job(first).state is State.HOLDED
        jqm.resume(first)
        assert jqm.get_job(first).state is State.SUBMITTED
        assert jqm.pause_many([first, second]) == 2
        assert jqm.resume_many([first, second]) == 2
        jqm.set_priority(second, 7)
        jqm.set_position(second, 1)
        jqm.set_run_after(second, datetime.now(UTC) - timedelta(seconds=1))
        assert jqm.get_job(second).priority == 7
        assert jqm.set_jobs_queue([second], queue.id) == 1
        jqm.set_job_queue(first, queue.id)
        assert {j.id for j in jqm.active_jobs()} >= {first, second}
        jqm.delete(first)
        with pytest.raises(NotFoundError):
            jqm.get_job(first)
        assert jqm.kill_many([second]) == 1
    finally:
        jqm.resume_queue(queue.id)
    assert jqm.queue_status(queue.id) is QueueStatus.RUNNING
    assert jqm.queue_capacity(queue.id) == 10


def test_deliverables_list_and_download(jqm: JqmClient, tmp_path: Path) -> None:
    job = jqm.wait(jqm.enqueue("Deliver").id, timeout=30)
    assert job.state is State.ENDED
    [item] = jqm.deliverables(job.id)
    assert item.original_name == "result.txt"
    expected = f"payload of {job.id}".encode()
    assert jqm.deliverable_content(item) == expected
    target = tmp_path / "out.txt"
    assert jqm.download_deliverable(item.id, target) == len(expected)
    assert target.read_bytes() == expected
    buffer = io.BytesIO()
    jqm.download_deliverable(item, buffer)
    assert buffer.getvalue() == expected


def test_history_enqueues_and_input_files(jqm: JqmClient) -> None:
    done = jqm.wait(jqm.enqueue(JobRequest(application_name="Echo", parameters={"p1": "again"})).id, timeout=30)
    copy = jqm.enqueue_from_history(done.id)
    assert jqm.get_job(copy).parameters == {"p1": "again"}
    copies = jqm.bulk_enqueue_from_history([done.id, copy])
    assert len(copies) == 2
    held = jqm.enqueue(JobRequest(application_name="Echo", start_held=True))
    assert held.state is State.SUBMITTED  # the enqueue answer, as upstream's: the request was accepted
    assert jqm.get_job(held.id).state is State.HOLDED
    assert jqm.add_input_file(held.id, "input.txt", b"data") > 0
    assert jqm.messages(held.id) == []
    jqm.cancel(held.id)


def test_lists_queues_and_definitions(jqm: JqmClient) -> None:
    assert [q.name for q in jqm.queues()] == ["DEFAULT"]
    names = {d.application_name for d in jqm.job_definitions()}
    assert {"Echo", "Fail", "Slow", "Deliver"} <= names
    echo = jqm.job_definition("Echo")
    assert echo.parameters == {"p1": "default"} and echo.queue is not None
    with pytest.raises(NotFoundError):
        jqm.job_definition("Missing")
    assert jqm.job_definitions("no-such-application") == []
    assert len(jqm.jobs()) > 0
    assert jqm.user_active_jobs("nobody") == []


def test_unreachable_node_is_a_connection_error() -> None:
    nothing = f"http://127.0.0.62:{_free_port('127.0.0.62')}"
    with JqmClient(nothing, timeout=5) as client, pytest.raises(JqmConnectionError, match=r"127\.0\.0\.62"):
        client.queues()


def test_wrong_password_is_refused(node: Node) -> None:
    if node.auth is None:
        pytest.skip("the test node runs without authentication (see node_auth in tests/client/conftest.py)")
    with JqmClient(node.url, auth=BasicAuth(node.auth.user, "wrong")) as client, pytest.raises(AuthenticationError):
        client.queues()
