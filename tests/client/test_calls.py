"""Each client API call: method, path, body and how its answer is read; credentials and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from jqm_client import (
    AuthenticationError,
    BadRequestError,
    BasicAuth,
    BearerToken,
    ConflictError,
    GoneError,
    JobRequest,
    JqmApiError,
    JqmProtocolError,
    LogStream,
    NotFoundError,
    PermissionDeniedError,
    Query,
    QueueStatus,
    ServerError,
    calls,
)
from jqm_client.http import HttpResponse
from jqm_client.protocol import Call, ClientProtocol


def answer(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> HttpResponse:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return HttpResponse(status=status, headers=headers or {}, body=data)


@pytest.mark.parametrize(
    ("call", "method", "target"),
    [
        (calls.enqueue(JobRequest(application_name="A")), "POST", "/ws/client/ji"),
        (calls.enqueue_from_history(5), "POST", "/ws/client/ji/5"),
        (calls.bulk_enqueue_from_history([1, 2]), "POST", "/ws/client/ji/bulk"),
        (calls.add_input_file(5, "in put.txt", b"x"), "POST", "/ws/client/ji/5/files/in%20put.txt"),
        (calls.get_job(5), "GET", "/ws/client/ji/5"),
        (calls.jobs(), "GET", "/ws/client/ji"),
        (calls.active_jobs(), "GET", "/ws/client/ji/active"),
        (calls.user_active_jobs("a/b"), "GET", "/ws/client/user/a%2Fb/ji"),
        (calls.query(Query()), "POST", "/ws/client/ji/query"),
        (calls.query_ids(Query()), "POST", "/ws/client/ji/query/ids"),
        (calls.messages(5), "GET", "/ws/client/ji/5/messages"),
        (calls.deliverables(5), "GET", "/ws/client/ji/5/files"),
        (calls.deliverable_content(9), "GET", "/ws/client/ji/files/9"),
        (calls.log(5, LogStream.STDOUT), "GET", "/ws/client/ji/5/stdout"),
        (calls.log(5, LogStream.STDERR), "GET", "/ws/client/ji/5/stderr"),
        (calls.cancel(5), "POST", "/ws/client/ji/cancelled/5"),
        (calls.delete(5), "DELETE", "/ws/client/ji/waiting/5"),
        (calls.kill(5), "POST", "/ws/client/ji/killed/5"),
        (calls.kill_many([5]), "POST", "/ws/client/ji/killed"),
        (calls.pause(5), "POST", "/ws/client/ji/paused/5"),
        (calls.pause_many([5]), "POST", "/ws/client/ji/paused"),
        (calls.resume(5), "DELETE", "/ws/client/ji/paused/5"),
        (calls.resume_many([5]), "POST", "/ws/client/ji/resumed"),
        (calls.pause_running(5), "POST", "/ws/client/ji/running/paused/5"),
        (calls.resume_running(5), "DELETE", "/ws/client/ji/running/paused/5"),
        (calls.restart_crashed(5), "DELETE", "/ws/client/ji/crashed/5"),
        (calls.set_position(5, 2), "POST", "/ws/client/ji/5/position/2"),
        (calls.set_priority(5, 3), "POST", "/ws/client/ji/5/priority/3"),
        (calls.set_run_after(5, datetime(2030, 1, 1, tzinfo=UTC)), "POST", "/ws/client/ji/5/delay/1893456000000"),
        (calls.queues(), "GET", "/ws/client/q"),
        (calls.queue_status(1), "GET", "/ws/client/q/1/status"),
        (calls.queue_capacity(1), "GET", "/ws/client/q/1/enabled-capacity"),
        (calls.pause_queue(1), "POST", "/ws/client/q/1/pause"),
        (calls.resume_queue(1), "DELETE", "/ws/client/q/1/pause"),
        (calls.clear_queue(1), "POST", "/ws/client/q/1/clear"),
        (calls.set_job_queue(5, 1), "POST", "/ws/client/q/1/5"),
        (calls.set_jobs_queue([5], 1), "POST", "/ws/client/q/1/bulk"),
        (calls.job_definitions(), "GET", "/ws/client/jd"),
        (calls.job_definitions("my app"), "GET", "/ws/client/jd/my%20app"),
        (calls.job_definition("../x"), "GET", "/ws/client/jd/name/..%2Fx"),
    ],
)
def test_routes_are_upstreams(call: Call[Any], method: str, target: str) -> None:
    assert (call.request.method, call.request.target) == (method, target)


def test_bodies_are_json() -> None:
    request = calls.kill_many([3, 4]).request
    assert request.headers["Content-Type"] == "application/json" and json.loads(request.body or b"") == [3, 4]
    enqueue = calls.enqueue(JobRequest(application_name="A", parameters={"p": "v"})).request
    assert json.loads(enqueue.body or b"")["parameters"] == [{"key": "p", "value": "v"}]
    assert calls.get_job(1).request.body is None


@pytest.mark.parametrize("bad", [-1, True, "12"])
def test_ids_must_be_non_negative_integers(bad: Any) -> None:
    with pytest.raises(ValueError, match="job_id must be a non-negative integer"):
        calls.get_job(bad)
    with pytest.raises(ValueError, match="job ID"):
        calls.kill_many([1, bad])


def test_empty_names_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        calls.job_definition("")


def test_answers_are_typed() -> None:
    assert calls.enqueue_from_history(1).parse(answer(body=12)) == 12
    assert calls.kill_many([1]).parse(answer(body=1)) == 1
    assert calls.query_ids(Query()).parse(answer(body=[1, 2])) == [1, 2]
    assert calls.queue_status(1).parse(answer(body="PAUSED")) is QueueStatus.PAUSED
    assert calls.add_input_file(1, "f", b"").parse(answer(raw=b"42")) == 42
    assert calls.messages(1).parse(answer(body=["m"])) == ["m"]
    assert calls.cancel(1).parse(answer(204)) is None
    with pytest.raises(JqmProtocolError, match="expected a JSON answer"):
        calls.queues().parse(answer(raw=b"<queues/>"))
    with pytest.raises(JqmProtocolError, match="an integer"):
        calls.kill_many([1]).parse(answer(body="1"))


def test_query_reports_nodes_that_did_not_answer() -> None:
    response = answer(body={"resultSize": 0, "instances": []}, headers={"x-jqm-partial-results": "10.0.0.7, 10.0.0.8"})
    assert calls.query(Query()).parse(response).missing_nodes == ["10.0.0.7", "10.0.0.8"]


def test_logs_are_read_from_an_offset() -> None:
    assert "Range" not in calls.log(1, LogStream.STDOUT).request.headers
    call = calls.log(1, LogStream.STDOUT, offset=5)
    assert call.request.headers["Range"] == "bytes=5-"
    assert call.parse(answer(206, raw=b"new")) == b"new"
    assert call.parse(answer(200, raw=b"01234new")) == b"new"  # the server sent the whole file
    assert call.parse(answer(416, raw=b"")) == b""  # nothing past the offset yet
    assert ClientProtocol().finish(call, answer(416)) == b""
    with pytest.raises(ValueError, match="offset"):
        calls.log(1, LogStream.STDOUT, offset=-1)


# ------------------------------------------------------------------------------------------ protocol


def test_requests_ask_for_json_and_carry_credentials() -> None:
    request = calls.get_job(1).request
    plain = ClientProtocol().prepare(request)
    assert plain.headers["Accept"] == "application/json" and "Authorization" not in plain.headers
    basic = ClientProtocol(auth=BasicAuth("admin", "s3cr:t é")).prepare(request)
    assert basic.headers["Authorization"] == "Basic YWRtaW46czNjcjp0IMOp"
    bearer = ClientProtocol(auth=BearerToken("tok-123")).prepare(request)
    assert bearer.headers["Authorization"] == "Bearer tok-123"


def test_secrets_never_show_in_repr() -> None:
    for text in (
        repr(BasicAuth("admin", "hunter2")),
        repr(BearerToken("hunter2")),
        repr(ClientProtocol(auth=BasicAuth("a", "hunter2"))),
    ):
        assert "hunter2" not in text


def test_unusable_credentials_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot contain ':'"):
        BasicAuth("a:b", "p").header()
    with pytest.raises(ValueError, match="whitespace"):
        BearerToken("a b").header()


def error_dto(message: str, code: int) -> dict[str, Any]:
    return {"userReadableMessage": message, "developerMessage": "dev", "errorCode": code, "httpStatus": 0}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, JqmApiError),
    ],
)
def test_error_answers_raise_by_status(status: int, kind: type[JqmApiError]) -> None:
    with pytest.raises(kind) as caught:
        ClientProtocol().finish(calls.get_job(1), answer(status, error_dto("refused", 7)))
    error = caught.value
    assert type(error) is kind
    assert (error.status, error.code, error.user_readable_message, error.developer_message) == (
        status,
        7,
        "refused",
        "dev",
    )
    assert str(error) == f"refused (HTTP {status}, code 7)"


def test_gone_job_keeps_the_nodes_explanation() -> None:
    message = "job 42 belonged to node 10.0.0.5, which has left the cluster; its history has expired"
    with pytest.raises(GoneError, match="has left the cluster"):
        ClientProtocol().finish(calls.get_job(42), answer(410, error_dto(message, 1)))


def test_errors_without_error_dto_still_explain() -> None:
    with pytest.raises(ServerError, match="Bad Gateway"):
        ClientProtocol().finish(calls.queues(), answer(502, raw=b"<html>Bad Gateway</html>"))
    with pytest.raises(AuthenticationError, match="HTTP 401 without explanation"):
        ClientProtocol().finish(calls.queues(), answer(401, raw=b""))
