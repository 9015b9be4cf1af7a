"""The JSON representation: models to the node's field names, answers back to typed models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jqm_client import JobRequest, JqmProtocolError, Query, Sort, SortColumn, State
from jqm_client.codec import (
    deliverable_from_json,
    error_from_json,
    job_from_json,
    job_request_to_json,
    jobdef_from_json,
    query_result_from_json,
    query_to_json,
)

JOB = {
    "id": 2130706434000001,
    "applicationName": "DemoEcho",
    "parent": 2130706434000000,
    "user": "alice",
    "sessionID": "s",
    "traceId": "t",
    "state": "ENDED",
    "position": 0,
    "priority": 3,
    "queue": {"id": 1, "name": "DEFAULT", "description": "the default queue"},
    "queueName": "DEFAULT",
    "keyword1": "k1",
    "keyword2": None,
    "keyword3": "k3",
    "definitionKeyword1": "d1",
    "definitionKeyword2": "d2",
    "definitionKeyword3": None,
    "module": "m",
    "email": "a@example.invalid",
    "application": "app",
    "parameters": [{"key": "p1", "value": "hi"}],
    "progress": 40,
    "messages": ["one", "two"],
    "enqueueDate": 1_700_000_000_000,
    "beganRunningDate": 1_700_000_001_500,
    "endDate": "2023-11-14T22:13:25.000Z",
    "runAfter": None,
    "nodeName": "node-1",
    "highlander": True,
    "fromSchedule": False,
}


def test_job_instance_reads_every_field() -> None:
    job = job_from_json(JOB)
    assert job.id == 2130706434000001 and job.state is State.ENDED
    assert (job.parent, job.user, job.session_id, job.trace_id) == (2130706434000000, "alice", "s", "t")
    assert job.queue is not None and job.queue.description == "the default queue"
    assert (job.keyword1, job.keyword2, job.keyword3) == ("k1", None, "k3")
    assert (job.definition_keyword1, job.definition_keyword2) == ("d1", "d2")
    assert job.parameters == {"p1": "hi"} and job.messages == ["one", "two"] and job.progress == 40
    assert job.enqueue_date == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert job.began_running_date == datetime(2023, 11, 14, 22, 13, 21, 500_000, tzinfo=UTC)
    assert job.end_date == datetime(2023, 11, 14, 22, 13, 25, tzinfo=UTC)
    assert job.highlander and not job.from_schedule and job.node_name == "node-1"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "12", "JobInstance.id should be an integer"),
        ("id", True, "JobInstance.id should be an integer"),
        ("state", "DONE", "not a job state"),
        ("parameters", {"p1": "x"}, "list of {key, value}"),
        ("messages", [1], "list of strings"),
        ("enqueueDate", "yesterday", "JobInstance.enqueueDate should be a date"),
        ("highlander", "yes", "true or false"),
    ],
)
def test_wrong_types_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(JqmProtocolError, match=message.replace("{", r"\{").replace("}", r"\}")):
        job_from_json({**JOB, field: value})


def test_not_an_object_is_a_protocol_error() -> None:
    with pytest.raises(JqmProtocolError, match="expected a JobInstance object, got list"):
        job_from_json([])


def test_job_request_writes_upstream_names_and_skips_absent_fields() -> None:
    assert job_request_to_json(JobRequest(application_name="A")) == {"applicationName": "A", "parameters": []}
    full = JobRequest(
        application_name="A",
        parameters={"b": "2", "a": "1"},
        user="u",
        session_id="s",
        trace_id="t",
        application="app",
        module="m",
        keyword1="1",
        keyword2="2",
        keyword3="3",
        email="e",
        queue_name="Q",
        parent_job_id=7,
        schedule_id=8,
        start_held=True,
        priority=4,
        run_after=datetime(2030, 1, 1, tzinfo=UTC),
        recurrence="* * * * *",
    )
    assert job_request_to_json(full) == {
        "applicationName": "A",
        "sessionID": "s",
        "traceId": "t",
        "application": "app",
        "user": "u",
        "module": "m",
        "keyword1": "1",
        "keyword2": "2",
        "keyword3": "3",
        "email": "e",
        "queueName": "Q",
        "parentJobId": 7,
        "scheduleId": 8,
        "startState": "HOLDED",
        "priority": 4,
        "parameters": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}],
        "runAfter": 1_893_456_000_000,
        "recurrence": "* * * * *",
    }


def test_naive_dates_are_utc() -> None:
    body = job_request_to_json(JobRequest(application_name="A", run_after=datetime(2030, 1, 1)))
    assert body["runAfter"] == 1_893_456_000_000


def test_default_query_is_upstreams_default() -> None:
    assert query_to_json(Query()) == {
        "applicationName": [],
        "statuses": [],
        "queryLiveInstances": False,
        "queryHistoryInstances": True,
        "firstRow": 0,
        "pageSize": 50,
        "sortby": [],
    }


def test_every_query_filter_has_its_node_name() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    millis = 1_704_067_200_000
    query = Query(
        job_instance_id=1,
        job_instance_ids=[1, 2],
        parent_id=-1,
        application_names=["A", "B%"],
        user="u",
        session_id="s",
        job_def_keyword1="d1",
        job_def_keyword2="d2",
        job_def_keyword3="d3",
        job_def_module="dm",
        job_def_application="da",
        instance_keyword1="i1",
        instance_keyword2="i2",
        instance_keyword3="i3",
        instance_module="im",
        instance_application="ia",
        queue_name="Q",
        queue_id=3,
        node_name="n",
        enqueued_before=when,
        enqueued_after=when,
        began_running_before=when,
        began_running_after=when,
        ended_before=when,
        ended_after=when,
        statuses=[State.ENDED, State.CRASHED],
        live=True,
        history=False,
        first_row=10,
        page_size=None,
        sort=[Sort(SortColumn.DATEEND, descending=True), Sort(SortColumn.ID)],
    )
    assert query_to_json(query) == {
        "jobInstanceId": 1,
        "jobInstanceIds": [1, 2],
        "parentId": -1,
        "queueId": 3,
        "applicationName": ["A", "B%"],
        "statuses": ["ENDED", "CRASHED"],
        "queryLiveInstances": True,
        "queryHistoryInstances": False,
        "firstRow": 10,
        "pageSize": None,
        "sortby": [{"col": "DATEEND", "order": "DESCENDING"}, {"col": "ID", "order": "ASCENDING"}],
        "user": "u",
        "sessionId": "s",
        "jobDefKeyword1": "d1",
        "jobDefKeyword2": "d2",
        "jobDefKeyword3": "d3",
        "jobDefModule": "dm",
        "jobDefApplication": "da",
        "instanceKeyword1": "i1",
        "instanceKeyword2": "i2",
        "instanceKeyword3": "i3",
        "instanceModule": "im",
        "instanceApplication": "ia",
        "queueName": "Q",
        "nodeName": "n",
        "enqueuedBefore": millis,
        "enqueuedAfter": millis,
        "beganRunningBefore": millis,
        "beganRunningAfter": millis,
        "endedBefore": millis,
        "endedAfter": millis,
    }


def test_query_result_and_other_objects() -> None:
    result = query_result_from_json({"resultSize": 7, "instances": [JOB]}, missing_nodes=["10.0.0.9"])
    assert result.total == 7 and [j.id for j in result.instances] == [JOB["id"]]
    assert result.missing_nodes == ["10.0.0.9"]
    item = deliverable_from_json({"id": 4, "filePath": "x/y", "fileFamily": "f", "originalName": "y.txt"})
    assert (item.id, item.original_name) == (4, "y.txt")
    jd = jobdef_from_json({"id": 1, "applicationName": "A", "canBeRestarted": False, "parameters": []})
    assert jd.application_name == "A" and not jd.can_be_restarted and jd.parameters == {}


def test_error_dto_or_nothing() -> None:
    dto = error_from_json(
        {"userReadableMessage": "no", "developerMessage": "dev", "errorCode": 6, "httpStatus": 400, "stacktrace": None}
    )
    assert dto is not None and (dto.user_readable_message, dto.developer_message, dto.error_code) == ("no", "dev", 6)
    assert error_from_json({"kind": "Status", "message": "x"}) is None
    assert error_from_json("text") is None
