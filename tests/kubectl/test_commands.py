"""The plugin's commands against scripted node answers: output, exit codes and messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from jqm_client import AuthenticationError, JqmConnectionError
from jqm_client.errors import ErrorDto
from jqm_client.http import HttpRequest, HttpResponse
from jqm_kubectl import status
from jqm_kubectl.cli import build_parser, explain
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.kube import Pod
from tests.kubectl.fakes import (
    FakeAccess,
    FakeSession,
    Outputs,
    ScriptedTransport,
    context,
    error_answer,
    job_json,
    json_answer,
)

JOB = "/ws/client/ji/42"


def parse(*argv: str) -> Any:
    return build_parser().parse_args(list(argv))


def run_command(access: FakeAccess, *argv: str) -> tuple[Exit, Outputs]:
    args = parse(*argv)
    outputs = Outputs()
    return args.handler(context(access, outputs), args), outputs


def log_answer(data: bytes) -> Any:
    def answer(request: HttpRequest) -> HttpResponse:
        offset = int(request.headers.get("Range", "bytes=0-")[6:-1])
        if offset >= len(data):
            return HttpResponse(status=416, headers={})
        return HttpResponse(status=206 if offset else 200, headers={}, body=data[offset:])

    return answer


def cluster_with(job_states: list[str], **routes: Any) -> FakeAccess:
    answers = [
        json_answer(job_json(state=s, beganRunningDate=1_700_000_001_000, endDate=1_700_000_003_000))
        for s in job_states
    ]
    table = {
        ("POST", "/ws/client/ji"): json_answer(job_json()),
        ("GET", JOB): answers,
        ("GET", JOB + "/stdout"): log_answer(b"hello\n"),
        ("GET", JOB + "/stderr"): log_answer(b"oops\n"),
    }
    table.update(routes)
    return FakeAccess(ScriptedTransport(table))


def test_run_without_wait_prints_the_id_only() -> None:
    access = cluster_with(["SUBMITTED"])
    code, outputs = run_command(access, "run", "demo", "DemoEcho", "-p", "p1=hi", "-p", "p2=a=b", "--keyword", "k")
    assert code is Exit.OK and outputs.out.getvalue() == "42\n"
    body = json.loads(access.transport.seen[0].body or b"")
    assert body["parameters"] == [{"key": "p1", "value": "hi"}, {"key": "p2", "value": "a=b"}]
    assert body["keyword1"] == "k" and "keyword2" not in body


@pytest.mark.parametrize(
    ("final", "code"),
    [("ENDED", Exit.OK), ("CRASHED", Exit.JOB_FAILED), ("KILLED", Exit.JOB_FAILED), ("CANCELLED", Exit.JOB_FAILED)],
)
def test_run_wait_exit_code_follows_the_final_state(final: str, code: Exit) -> None:
    access = cluster_with(["RUNNING", final])
    result, outputs = run_command(access, "run", "demo", "DemoEcho", "--wait")
    assert result is code
    assert f"job 42 {final} after 3s" in outputs.err.getvalue()
    assert outputs.out.getvalue() == ""  # no progress line: stderr is not a terminal here


def test_run_logs_streams_both_outputs_byte_for_byte() -> None:
    access = cluster_with(["RUNNING", "ENDED"])
    code, outputs = run_command(access, "run", "demo", "DemoEcho", "--logs")
    assert code is Exit.OK
    assert outputs.out_bytes.getvalue() == b"hello\n" and outputs.err_bytes.getvalue() == b"oops\n"


def test_run_wait_json_prints_the_final_job() -> None:
    access = cluster_with(["ENDED"])
    code, outputs = run_command(access, "run", "demo", "DemoEcho", "--wait", "-o", "json")
    assert code is Exit.OK and json.loads(outputs.out.getvalue())["state"] == "ENDED"


def test_unknown_application_names_the_known_ones() -> None:
    access = cluster_with(
        [],
        **{},
    )
    access.transport.routes[("POST", "/ws/client/ji")] = error_answer(400, "no job definition named Nope", 6)
    access.transport.routes[("GET", "/ws/client/jd")] = json_answer(
        [{"id": 1, "applicationName": "DemoEcho"}, {"id": 2, "applicationName": "Sleep"}]
    )
    with pytest.raises(PluginError) as caught:
        run_command(access, "run", "demo", "Nope")
    assert caught.value.code is Exit.NOT_FOUND
    assert caught.value.message == "JqmCluster demo has no application 'Nope' (it has: DemoEcho, Sleep)"


def test_other_refusals_keep_the_nodes_message() -> None:
    access = cluster_with([])
    access.transport.routes[("POST", "/ws/client/ji")] = error_answer(400, "Priority must be between 1 and 10", 6)
    access.transport.routes[("GET", "/ws/client/jd")] = json_answer([{"id": 1, "applicationName": "DemoEcho"}])
    with pytest.raises(PluginError, match="refused the job: Priority must be between 1 and 10") as caught:
        run_command(access, "run", "demo", "DemoEcho", "--priority", "99")
    assert caught.value.code is Exit.REFUSED


def test_restart_enqueues_from_history_then_follows_up() -> None:
    access = cluster_with(["ENDED"])
    access.transport.routes[("POST", "/ws/client/ji/7")] = json_answer(42)
    code, outputs = run_command(access, "restart", "demo", "7", "--wait")
    assert code is Exit.OK and "job 42 ENDED" in outputs.err.getvalue()
    code, outputs = run_command(access, "restart", "demo", "7")
    assert outputs.out.getvalue() == "42\n" and "job 7 restarted as job 42" in outputs.err.getvalue()


def test_get_shows_the_fields_that_have_values() -> None:
    access = cluster_with(["ENDED"])
    code, outputs = run_command(access, "get", "demo", "42")
    text = outputs.out.getvalue()
    assert code is Exit.OK
    assert "ID:" in text and "42" in text and "State:" in text and "ENDED" in text
    assert "Session" not in text  # absent fields are left out
    code, outputs = run_command(access, "get", "demo", "42", "-o", "yaml")
    assert yaml.safe_load(outputs.out.getvalue())["application_name"] == "DemoEcho"


def test_list_queries_newest_first_and_warns_about_missing_nodes() -> None:
    jobs_answer = {
        "resultSize": 3,
        "instances": [job_json(43, "RUNNING", beganRunningDate=1_700_000_001_000), job_json(42, "ENDED")],
    }
    access = FakeAccess(
        ScriptedTransport(
            {("POST", "/ws/client/ji/query"): HttpResponse(
                status=200, headers={"x-jqm-partial-results": "10.244.0.9"}, body=json.dumps(jobs_answer).encode()
            )}
        )
    )  # fmt: skip
    code, outputs = run_command(access, "list", "demo", "--state", "RUNNING", "--app", "Demo%", "--limit", "2")
    assert code is Exit.OK
    query = json.loads(access.transport.seen[0].body or b"")
    assert query["statuses"] == ["RUNNING"] and query["applicationName"] == ["Demo%"] and query["pageSize"] == 2
    assert query["sortby"] == [{"col": "ID", "order": "DESCENDING"}]
    assert query["queryLiveInstances"] and query["queryHistoryInstances"]
    lines = outputs.out.getvalue().splitlines()
    assert lines[0].split() == ["ID", "APPLICATION", "STATE", "QUEUE", "USER", "AGE", "RAN", "NODE"]
    assert lines[1].startswith("43 ") and lines[2].startswith("42 ")
    err = outputs.err.getvalue()
    assert "no answer from node(s) 10.244.0.9" in err and "2 of 3 jobs shown" in err


def test_logs_once_and_followed() -> None:
    access = cluster_with(["ENDED"])
    code, outputs = run_command(access, "logs", "demo", "42", "--stream", "stderr")
    assert code is Exit.OK and outputs.err_bytes.getvalue() == b"oops\n" and outputs.out_bytes.getvalue() == b""
    code, outputs = run_command(cluster_with(["RUNNING", "ENDED"]), "logs", "demo", "42", "-f")
    assert outputs.out_bytes.getvalue() == b"hello\n" and outputs.err_bytes.getvalue() == b"oops\n"


def test_logs_of_an_unknown_job_is_not_found() -> None:
    access = cluster_with([])
    access.transport.routes[("GET", JOB)] = error_answer(404, "No job instance of ID 42", 1)
    with pytest.raises(Exception, match="No job instance of ID 42") as caught:
        run_command(access, "logs", "demo", "42")
    assert explain(caught.value).code is Exit.NOT_FOUND  # type: ignore[arg-type]


def test_kill_each_job() -> None:
    access = cluster_with([])
    access.transport.routes[("POST", "/ws/client/ji/killed/42")] = HttpResponse(status=204, headers={})
    access.transport.routes[("POST", "/ws/client/ji/killed/43")] = HttpResponse(status=204, headers={})
    code, outputs = run_command(access, "kill", "demo", "42", "43")
    assert code is Exit.OK
    assert outputs.out.getvalue() == "job 42: kill requested\njob 43: kill requested\n"


def test_wait_timeout_is_exit_3_and_says_the_job_goes_on() -> None:
    access = cluster_with(["RUNNING"])
    with pytest.raises(Exception) as caught:
        run_command(access, "run", "demo", "DemoEcho", "--wait", "--timeout", "0.01")
    failure = explain(caught.value)  # type: ignore[arg-type]
    assert failure.code is Exit.TIMEOUT
    assert failure.message.startswith("job 42 is still RUNNING after 0.01s; it goes on")


@pytest.mark.parametrize(
    ("status_code", "exit_code"),
    [
        (401, Exit.ACCESS),
        (403, Exit.ACCESS),
        (404, Exit.NOT_FOUND),
        (410, Exit.NOT_FOUND),
        (400, Exit.REFUSED),
        (503, Exit.REFUSED),
    ],
)
def test_api_errors_map_to_exit_codes(status_code: int, exit_code: Exit) -> None:
    access = cluster_with([])
    access.transport.routes[("GET", JOB)] = error_answer(status_code, "nope", 1)
    with pytest.raises(Exception) as caught:
        run_command(access, "get", "demo", "42")
    assert explain(caught.value).code is exit_code  # type: ignore[arg-type]


def test_unreachable_node_is_exit_6() -> None:
    assert explain(JqmConnectionError("refused")).code is Exit.UNREACHABLE


# ------------------------------------------------------------------------------------------ status

POD_A = Pod(name="demo-a", ip="10.244.0.5", ready=True, phase="Running", terminating=False)
POD_B = Pod(name="demo-b", ip="10.244.0.6", ready=False, phase="Running", terminating=False)
METRICS = """# TYPE jqm_jobs gauge
jqm_jobs{queue="DEFAULT",state="RUNNING"} 2
jqm_jobs{queue="DEFAULT",state="SUBMITTED"} 5
jqm_jobs{queue="DEFAULT",state="ENDED"} 100
jqm_jobs{queue="odd \\"name\\"",state="HOLDED"} 1
"""


def status_access() -> FakeAccess:
    transport = ScriptedTransport(
        {
            ("GET", "/ws/client/q"): json_answer([{"id": 1, "name": "DEFAULT", "description": "the default queue"}]),
            ("GET", "/ws/client/q/1/status"): json_answer("RUNNING"),
            ("GET", "/ws/client/q/1/enabled-capacity"): json_answer(10),
        }
    )
    return FakeAccess(
        transport,
        cluster={
            "spec": {"replicas": 2},
            "status": {
                "readyReplicas": 1,
                "nodes": [
                    {"pod": "demo-b", "idsUsed": 10, "idCapacity": 100, "running": 0, "queued": 0, "draining": True}
                ],
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "NodesReady",
                        "message": "1/2 nodes ready",
                        "lastTransitionTime": "2024-01-01T00:00:00Z",
                    },
                ],
            },
        },
        pods=[POD_A, POD_B],
        node_statuses={
            "demo-a": {"idsUsed": 250000, "idCapacity": 1000000, "running": 2, "queued": 5, "draining": False},
            "demo-b": PluginError(
                "the API server could not reach pod jobs/demo-b port 1790: connection refused", Exit.UNREACHABLE
            ),
        },
        metrics={"demo-a": METRICS},
        session=FakeSession(
            events=[
                {
                    "type": "Normal",
                    "reason": "NodeRestarted",
                    "message": "demo-c replaced",
                    "count": 2,
                    "lastTimestamp": "2024-01-01T00:00:00Z",
                }
            ]
        ),
    )


def test_jobs_by_queue_sums_the_nodes_metrics() -> None:
    assert status.jobs_by_queue([METRICS, METRICS]) == {
        "DEFAULT": {"running": 4, "waiting": 10},
        'odd "name"': {"running": 0, "waiting": 2},
    }


def test_status_shows_live_nodes_and_falls_back_to_the_operators_figures() -> None:
    code, outputs = run_command(status_access(), "status", "demo")
    text = outputs.out.getvalue()
    assert code is Exit.OK
    assert "JqmCluster demo (namespace jobs): 1/2 nodes ready" in text
    node_a = next(line for line in text.splitlines() if line.startswith("demo-a"))
    assert "[#####---------------]  25.0%" in node_a and node_a.split()[-3:] == ["2", "5", "no"]
    node_b = next(line for line in text.splitlines() if line.startswith("demo-b"))
    assert "10.0%" in node_b and "operator figures; the API server could not reach" in node_b
    queue = next(line for line in text.splitlines() if line.startswith("DEFAULT"))
    assert queue.split()[:5] == ["DEFAULT", "RUNNING", "10", "2", "5"]
    assert "NodesReady" in text and "NodeRestarted" in text and "demo-c replaced" in text


def test_status_json_has_every_section() -> None:
    code, outputs = run_command(status_access(), "status", "demo", "-o", "json")
    assert code is Exit.OK
    data = json.loads(outputs.out.getvalue())
    assert set(data) >= {"cluster", "nodes", "queues", "conditions", "events"}
    assert data["nodes"][1]["source"] == "operator" and data["nodes"][0]["source"] == "node"


def test_status_says_why_queues_are_missing() -> None:
    access = status_access()
    access.transport.routes[("GET", "/ws/client/q")] = error_answer(401, "credentials required", 10)
    code, outputs = run_command(access, "status", "demo")
    assert code is Exit.OK
    assert "cannot read the queues: credentials required (HTTP 401, code 10)" in outputs.out.getvalue()


def test_status_without_a_name() -> None:
    access = status_access()
    args = parse("status")
    outputs = Outputs()
    several = [
        {"metadata": {"name": "a", "creationTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"replicas": 2},
         "status": {"readyReplicas": 2, "highestIdUsagePercent": 1.5}},
        {"metadata": {"name": "b"}},
    ]  # fmt: skip
    assert status.status(context(access, outputs, several), args) is Exit.OK
    assert outputs.out.getvalue().splitlines()[1].split()[:3] == ["a", "2/2", "1.5%"]
    assert "kubectl jqm status NAME" in outputs.err.getvalue()
    with pytest.raises(PluginError, match="no JqmCluster in namespace 'jobs'") as caught:
        status.status(context(access, Outputs(), []), args)
    assert caught.value.code is Exit.NOT_FOUND
    outputs = Outputs()
    status.status(context(access, outputs, [{"metadata": {"name": "demo"}}]), args)
    assert outputs.out.getvalue().startswith("JqmCluster demo")


def test_credentials_refused_explanations() -> None:
    from jqm_kubectl.access import AccessOptions, ClusterAccess

    access = ClusterAccess.__new__(ClusterAccess)
    access.name, access.options = "demo", AccessOptions()
    access.session = FakeSession()  # type: ignore[assignment]
    access._credentials = None
    error = AuthenticationError(status=401, error=ErrorDto(user_readable_message="credentials required"))
    refusal = access.explain_refusal(error)
    assert refusal.code is Exit.ACCESS
    assert refusal.message == (
        "JqmCluster demo asks for credentials (credentials required); "
        "Secret jobs/demo-auth was not found: give --user and --password-stdin"
    )
