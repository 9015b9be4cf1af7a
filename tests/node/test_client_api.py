"""The client API (``/ws/client``) of one real node, in XML and JSON: every route, its errors, no 500."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jqm_node.ids import id_base
from tests.node.conftest import RunningNode, launch_node, stop_node
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

C = "/ws/client"
IP = "127.0.0.1"
UNKNOWN = id_base(IP) + 999_999
XML_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CONFIG = {
    "queues": [
        {"name": "DEFAULT", "maxThreads": 4, "default": True},
        {"name": "SLOW", "maxThreads": 1, "description": "one at a time"},
    ],
    "jobDefinitions": [
        {
            "name": "Echo",
            "path": 'echo "out $JQM_JI_ID"; echo err >&2; echo data > "$JQM_JI_DELIVERY_DIR/report.txt" #',
            "application": "demo",
            "module": "mod",
            "keyword1": "jdk1",
            "parameters": {"p1": "v1"},
        },
        {"name": "Sleep", "path": "sleep 60", "application": "other"},
        {"name": "Fail", "path": "exit 3", "canBeRestarted": True},
        {"name": "Parked", "path": "true", "queue": "SLOW"},
    ],
}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One node for the whole module (starting one per test would dominate the run time)."""
    running = launch_node(tmp_path_factory.mktemp("client") / "node", config=CONFIG, ip=IP)
    try:
        yield running
    finally:
        stop_node(running)
    assert "internal error on" not in running.log_path.read_text(), running.log_path.read_text()


# ---------------------------------------------------------------------------------------- helpers


def call(
    node: RunningNode, method: str, path: str, body: Any = None, *, fmt: str = "json", accept: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A client API call; ``body`` is sent as JSON (dict/list) or as-is (bytes/str) with ``fmt``'s type."""
    headers = {"Accept": accept or ("application/json" if fmt == "json" else "application/xml")}
    data = None
    if body is not None:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        data = data.encode() if isinstance(data, str) else data
        headers["Content-Type"] = "application/json" if fmt == "json" else "application/xml"
    status, response_headers, payload = node.request(method, C + path, data=data, headers=headers)
    assert status < 500, (method, path, status, payload)
    return status, response_headers, payload


def ok_json(node: RunningNode, method: str, path: str, body: Any = None) -> Any:
    status, headers, payload = call(node, method, path, body)
    assert status == 200, payload
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(payload)


def ok_xml(node: RunningNode, method: str, path: str, body: Any = None) -> ET.Element:
    status, headers, payload = call(node, method, path, body, fmt="xml")
    assert status == 200, payload
    assert headers["Content-Type"].startswith("application/xml")
    return ET.fromstring(payload)


def error(node: RunningNode, method: str, path: str, body: Any = None, *, fmt: str = "json") -> tuple[int, int]:
    """(HTTP status, errorDto code) of a call expected to fail."""
    status, _, payload = call(node, method, path, body, fmt=fmt)
    assert status >= 400, payload
    if fmt == "json":
        return status, json.loads(payload)["errorCode"]
    root = ET.fromstring(payload)
    assert root.tag == "errorDto"
    return status, int(root.findtext("errorCode") or 0)


def enqueue(node: RunningNode, application: str, **fields: Any) -> dict[str, Any]:
    return ok_json(node, "POST", "/ji", {"applicationName": application, **fields})


def wait_state(node: RunningNode, job_id: int, *states: str, timeout: float = 20.0) -> dict[str, Any]:
    """The job (JSON) once its state is one of ``states``."""

    def reached() -> dict[str, Any] | None:
        job: dict[str, Any] = ok_json(node, "GET", f"/ji/{job_id}")
        return job if job["state"] in states else None

    return wait_until(reached, what=f"job {job_id} in {states}", timeout=timeout)


# ---------------------------------------------------------------------------------------- enqueue and read


def test_enqueue_json_and_read_back_in_both_representations(node: RunningNode) -> None:
    job = enqueue(node, "Echo", user="ann", sessionID="s1", keyword2="kw2", parameters=[{"key": "p2", "value": "two"}])
    assert job["applicationName"] == "Echo" and job["user"] == "ann" and job["queueName"] == "DEFAULT"
    assert {"key": "p1", "value": "v1"} in job["parameters"] and {"key": "p2", "value": "two"} in job["parameters"]
    ended = wait_state(node, job["id"], "ENDED")
    assert isinstance(ended["enqueueDate"], int) and ended["endDate"] >= ended["beganRunningDate"]
    assert ended["definitionKeyword1"] == "jdk1" and ended["keyword2"] == "kw2" and ended["application"] == "demo"
    assert ended["queue"] == {"id": 1, "name": "DEFAULT", "description": ""}
    assert ended["progress"] == 0 and ended["messages"] == [] and ended["highlander"] is False

    root = ok_xml(node, "GET", f"/ji/{job['id']}")
    assert root.tag == "jobInstance"
    assert root.findtext("id") == str(job["id"]) and root.findtext("state") == "ENDED"
    assert XML_DATE.match(root.findtext("enqueueDate") or "")
    assert {e.findtext("key"): e.findtext("value") for e in root.findall("parameters/entry")} == {
        "p1": "v1",
        "p2": "two",
    }
    assert root.find("parent") is None  # null: left out, as JAXB does

    # XML is the default representation, as upstream
    status, headers, _ = node.request("GET", f"{C}/ji/{job['id']}")
    assert status == 200 and headers["Content-Type"].startswith("application/xml")


def test_enqueue_xml_as_the_java_client_posts_it(node: RunningNode) -> None:
    body = (
        "<jobRequestBaseImpl><applicationName>Echo</applicationName><user>bob</user><priority>0</priority>"
        "<parameters><entry><key>x</key><value>y &amp; z</value></entry></parameters>"
        "<runAfter>2001-01-01T00:00:00.000+01:00</runAfter></jobRequestBaseImpl>"
    )
    root = ok_xml(node, "POST", "/ji", body)
    assert root.tag == "jobInstance" and root.findtext("user") == "bob"
    assert ("x", "y & z") in [(e.findtext("key"), e.findtext("value")) for e in root.findall("parameters/entry")]
    assert root.findtext("runAfter") == "2000-12-31T23:00:00.000Z"
    assert root.findtext("state") == "SUBMITTED"  # upstream ServiceClient.enqueueObject, even if it runs already
    ended = wait_state(node, int(root.findtext("id") or 0), "ENDED", "CRASHED")  # the shell sees "y & z"...
    # upstream SchedulerTest.testDelayedJob: a job enqueued with a runAfter date is fromSchedule, to its end
    assert root.findtext("fromSchedule") == "true" and ended["fromSchedule"] is True


def test_enqueue_held_then_resume_and_delay(node: RunningNode) -> None:
    job = enqueue(node, "Echo", startState="HOLDED")
    assert job["state"] == "SUBMITTED"  # upstream ServiceClient.enqueueObject answers SUBMITTED, whatever follows
    assert ok_json(node, "GET", f"/ji/{job['id']}")["state"] == "HOLDED"
    assert job["fromSchedule"] is False
    assert call(node, "POST", f"/ji/{job['id']}/delay/{int(time.time() * 1000) + 3_600_000}")[0] == 204
    assert call(node, "DELETE", f"/ji/paused/{job['id']}")[0] == 204
    assert ok_json(node, "GET", f"/ji/{job['id']}")["state"] == "SCHEDULED"
    assert call(node, "POST", f"/ji/{job['id']}/delay/0")[0] == 204
    wait_state(node, job["id"], "ENDED")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"applicationName": "NoSuchApp"}, 6),
        ({"applicationName": ""}, 6),
        ({"user": "nobody"}, 6),
        ({"applicationName": "Echo", "priority": 11}, 6),
        ({"applicationName": "Echo", "startState": "RUNNING"}, 6),
        ({"applicationName": "Echo", "queueName": "NOPE"}, 6),
        ({"applicationName": "Echo", "parameters": {"a": "b"}}, 10),
        ({"applicationName": "Echo", "parameters": [{"key": "a"}]}, 10),
        ({"applicationName": "Echo", "parameters": [{"key": "", "value": "b"}]}, 6),
        ({"applicationName": "Echo", "parentJobId": "x"}, 10),
        ({"applicationName": "Echo", "runAfter": "tomorrow"}, 10),
        ({"applicationName": "Echo", "recurrence": "* * * * *"}, 10),
        ({"applicationName": ["Echo"]}, 10),
        ([], 10),
    ],
)
def test_invalid_enqueue_is_a_400(node: RunningNode, body: Any, code: int) -> None:
    assert error(node, "POST", "/ji", body) == (400, code)


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [("k" * 50, "v", True), ("k" * 51, "v", False), ("", "v", False), ("k", "", False), ("k", " ", True),
     ("k", "v" * 1000, True), ("k", "v" * 1001, False)],
)  # fmt: skip
def test_parameters_are_checked_as_upstream_job_requests_check_them(
    node: RunningNode, key: str, value: str, accepted: bool
) -> None:
    """Upstream JobRequestBaseImpl.validateParameter (addParameter, setParameters: both APIs): a key of 1 to 50
    characters, a value of 1 to 1000, else JqmInvalidRequestException, a 400 (errorDto code 6 here)."""
    body = {"applicationName": "Parked", "parameters": [{"key": key, "value": value}]}
    form = urllib.parse.urlencode({"applicationname": "Parked", "parameterNames": key, "parameterValues": value})
    simple = node.request(
        "POST", "/ws/simple/ji", data=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    if accepted:
        assert call(node, "POST", "/ji", body)[0] == 200 and simple[0] == 200, simple
    else:
        assert error(node, "POST", "/ji", body) == (400, 6)
        assert simple[0] == 400 and b"<errorCode>6</errorCode>" in simple[2], simple


@pytest.mark.parametrize(
    "raw",
    ["{", "<jobRequest><applicationName>Echo</applicationName>", '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', ""],
)
def test_malformed_bodies_are_a_400(node: RunningNode, raw: str) -> None:
    fmt = "xml" if raw.startswith("<") else "json"
    assert error(node, "POST", "/ji", raw, fmt=fmt) == (400, 10)
    assert error(node, "POST", "/ji/query", raw, fmt=fmt) == (400, 10)


def test_unknown_and_bad_ids(node: RunningNode) -> None:
    """Unknown IDs: 404 with code 1 as upstream's jqm-doc client/webservice.rst error table says (its code answers
    400, code 10: a difference listed in the README); malformed IDs 400 code 10."""
    for fmt in ("json", "xml"):
        assert error(node, "GET", f"/ji/{UNKNOWN}", fmt=fmt) == (404, 1)
        assert error(node, "GET", "/ji/notanumber", fmt=fmt) == (400, 10)
    assert error(node, "GET", "/ji/-5")[0] == 400
    for method, path in [
        ("GET", f"/ji/{UNKNOWN}/messages"),
        ("GET", f"/ji/{UNKNOWN}/files"),
        ("GET", f"/ji/{UNKNOWN}/stdout"),
        ("GET", f"/ji/files/{UNKNOWN}"),
        ("POST", f"/ji/{UNKNOWN}"),
        ("POST", f"/ji/cancelled/{UNKNOWN}"),
        ("POST", f"/ji/killed/{UNKNOWN}"),
        ("DELETE", f"/ji/crashed/{UNKNOWN}"),
    ]:
        assert error(node, method, path) == (404, 1), path
    assert error(node, "DELETE", f"/ji/waiting/{UNKNOWN}") == (404, 3)
    assert error(node, "GET", "/nosuchroute")[0] == 404


# ---------------------------------------------------------------------------------------- lists and queries


def test_job_lists(node: RunningNode) -> None:
    sleeper = enqueue(node, "Sleep", user="carl")
    wait_state(node, sleeper["id"], "RUNNING")
    try:
        for path in ("/ji", "/ji/active", "/user/carl/ji"):
            jobs = ok_json(node, "GET", path)
            assert sleeper["id"] in [j["id"] for j in jobs], path
            root = ok_xml(node, "GET", path)
            assert root.tag == "jobInstances" and {e.tag for e in root} == {"jobInstance"}
        assert all(
            j["state"] in ("SUBMITTED", "RUNNING", "HOLDED", "SCHEDULED") for j in ok_json(node, "GET", "/ji/active")
        )
        assert ok_json(node, "GET", "/user/nobody-at-all/ji") == []
        everything = {"queryLiveInstances": True, "queryHistoryInstances": True, "pageSize": None}
        every_id = ok_json(node, "POST", "/ji/query/ids", everything)
        assert [job["id"] for job in ok_json(node, "GET", "/ji")] == every_id == sorted(every_id)
    finally:
        assert call(node, "POST", f"/ji/killed/{sleeper['id']}")[0] == 204
    killed = wait_state(node, sleeper["id"], "CRASHED", "KILLED")
    # upstream ClientApiTestJdbc.testKillJob: a killed job ends CRASHED (release notes 3.0: KILLED is no status)
    assert killed["state"] == "CRASHED"
    assert "Kill attempt on the job" in killed["messages"]
    assert ok_json(node, "GET", f"/ji/{sleeper['id']}/messages") == killed["messages"]
    messages = ok_xml(node, "GET", f"/ji/{sleeper['id']}/messages")
    assert messages.tag == "messages" and "Kill attempt on the job" in [m.text for m in messages]


def test_queries(node: RunningNode) -> None:
    ids = [enqueue(node, "Echo", user=f"quser{i}", keyword1="q")["id"] for i in range(3)]
    for job_id in ids:
        wait_state(node, job_id, "ENDED")

    result = ok_json(node, "POST", "/ji/query", {"user": "quser%", "sortby": [{"order": "DESCENDING", "col": "ID"}]})
    assert [j["id"] for j in result["instances"]] == ids[::-1] and result["resultSize"] == 3

    page = ok_json(node, "POST", "/ji/query", {"instanceKeyword1": "q", "firstRow": 1, "pageSize": 1})
    assert [j["id"] for j in page["instances"]] == ids[1:2] and page["resultSize"] == 3

    assert ok_json(node, "POST", "/ji/query/ids", {"applicationName": ["Echo"], "user": "quser1"}) == [ids[1]]
    assert ok_json(node, "POST", "/ji/query/ids", {"applicationName": "Echo", "user": "quser1"}) == [ids[1]]
    assert ok_json(node, "POST", "/ji/query/ids", {"jobInstanceId": ids[2]}) == [ids[2]]
    assert ok_json(node, "POST", "/ji/query/ids", {"jobInstanceIds": ids[:2]}) == ids[:2]
    assert ok_json(node, "POST", "/ji/query/ids", {"user": "quser%", "statuses": ["CRASHED"]}) == []
    assert (
        ok_json(
            node,
            "POST",
            "/ji/query/ids",
            {"user": "quser%", "queryHistoryInstances": False, "queryLiveInstances": True},
        )
        == []
    )
    live_and_done = {"user": "quser%", "queryLiveInstances": True, "enqueuedAfter": 0, "endedBefore": 2**42}
    assert ok_json(node, "POST", "/ji/query/ids", live_and_done) == ids
    assert ok_json(node, "POST", "/ji/query/ids", {"user": "quser%", "enqueuedAfter": 2**42}) == []

    xml = (
        "<queryBaseImpl><applicationName>Echo</applicationName><user>quser%</user><pageSize>2</pageSize>"
        "<statuses><status>ENDED</status></statuses>"
        "<sortby><sortitem><order>ASCENDING</order><col>USERNAME</col></sortitem></sortby>"
        "<queryLiveInstances>false</queryLiveInstances><queryHistoryInstances>true</queryHistoryInstances>"
        "</queryBaseImpl>"
    )
    root = ok_xml(node, "POST", "/ji/query", xml)
    assert root.tag == "queryBaseImpl" and root.findtext("resultSize") == "3"
    assert [i.findtext("user") for i in root.findall("instances/instance")] == ["quser0", "quser1"]

    empty = ok_xml(node, "GET", "/ji/query")
    assert empty.tag == "queryBaseImpl" and empty.findtext("pageSize") == "50"


@pytest.mark.parametrize(
    "query",
    [
        {"queryLiveInstances": False, "queryHistoryInstances": False},
        {"statuses": ["DONE"]},
        {"sortby": [{"col": "COLOR"}]},
        {"sortby": [{"col": "ID", "order": "UP"}]},
        {"queryLiveInstances": True, "queryHistoryInstances": False, "sortby": [{"col": "DATEEND"}]},
        {"pageSize": -1},
        {"firstRow": "one"},
        {"enqueuedAfter": "then"},
        {"user": {"a": 1}},
        ["not", "an", "object"],
    ],
)
def test_invalid_queries_are_a_400(node: RunningNode, query: Any) -> None:
    assert error(node, "POST", "/ji/query", query) == (400, 10)
    assert error(node, "POST", "/ji/query/ids", query) == (400, 10)


# ---------------------------------------------------------------------------------------- files


def test_logs_deliverables_and_input_files(node: RunningNode) -> None:
    job = enqueue(node, "Echo")
    wait_state(node, job["id"], "ENDED")
    status, headers, body = call(node, "GET", f"/ji/{job['id']}/stdout")
    assert (status, body) == (200, f"out {job['id']}\n".encode())
    assert headers["Content-Disposition"] == f"attachment; filename={job['id']}.stdout.txt"
    assert call(node, "GET", f"/ji/{job['id']}/stderr")[2] == b"err\n"

    files = ok_json(node, "GET", f"/ji/{job['id']}/files")
    assert len(files) == 1 and files[0]["originalName"] == "report.txt" and files[0]["fileFamily"] == "report.txt"
    assert not files[0]["filePath"].startswith("/")
    root = ok_xml(node, "GET", f"/ji/{job['id']}/files")
    assert root.tag == "deliverables" and root.findtext("deliverable/id") == str(files[0]["id"])
    assert call(node, "GET", f"/ji/files/{files[0]['id']}")[2] == b"data\n"
    assert call(node, "POST", "/ji/files", {"id": files[0]["id"]})[2] == b"data\n"
    xml_body = f"<deliverable><id>{files[0]['id']}</id></deliverable>"
    assert call(node, "POST", "/ji/files", xml_body, fmt="xml")[2] == b"data\n"
    assert error(node, "POST", "/ji/files", {"name": "x"}) == (400, 10)

    held = enqueue(node, "Echo", startState="HOLDED")
    status, headers, body = node.request(
        "POST",
        f"{C}/ji/{held['id']}/files/input.csv",
        data=b"a,b\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and int(body) > 0
    assert (node.workdir / "inputs" / str(held["id"]) / "input.csv").read_bytes() == b"a,b\n"
    assert node.request("POST", f"{C}/ji/{held['id']}/files/..", data=b"x")[0] == 400
    assert node.request("POST", f"{C}/ji/{job['id']}/files/late.txt", data=b"x")[0] == 400  # already ran
    assert call(node, "POST", f"/ji/cancelled/{held['id']}")[0] == 204


# ---------------------------------------------------------------------------------------- instructions


def test_waiting_job_instructions(node: RunningNode) -> None:
    assert call(node, "POST", "/q/2/pause")[0] == 204  # SLOW: nothing starts while we reorder
    try:
        jobs = [enqueue(node, "Parked")["id"] for _ in range(3)]
        assert [ok_json(node, "GET", f"/ji/{j}")["position"] for j in jobs] == [1, 2, 3]
        assert call(node, "POST", f"/ji/{jobs[2]}/position/1")[0] == 204
        assert ok_json(node, "GET", f"/ji/{jobs[2]}")["position"] == 1
        assert call(node, "POST", f"/ji/{jobs[1]}/priority/5")[0] == 204
        assert ok_json(node, "GET", f"/ji/{jobs[1]}")["position"] == 1

        assert call(node, "POST", f"/ji/paused/{jobs[0]}")[0] == 204
        assert ok_json(node, "GET", f"/ji/{jobs[0]}")["state"] == "HOLDED"
        assert ok_json(node, "POST", "/ji/paused", jobs) == 2
        assert ok_json(node, "POST", "/ji/resumed", [*jobs, UNKNOWN]) == 3
        assert ok_json(node, "POST", "/q/1/bulk", jobs[:1]) == 1
        assert ok_json(node, "GET", f"/ji/{jobs[0]}")["queueName"] == "DEFAULT"
        wait_state(node, jobs[0], "ENDED")
        assert call(node, "POST", f"/q/1/{jobs[1]}")[0] == 204
        wait_state(node, jobs[1], "ENDED")
        assert ok_json(node, "POST", "/q/1/jobs", [jobs[1]]) == 0  # already ran

        assert call(node, "POST", f"/ji/cancelled/{jobs[2]}")[0] == 204
        assert ok_json(node, "GET", f"/ji/{jobs[2]}")["state"] == "CANCELLED"
        assert error(node, "POST", f"/ji/cancelled/{jobs[2]}") == (400, 10)
        assert error(node, "POST", f"/ji/{jobs[0]}/position/1") == (400, 10)

        doomed = enqueue(node, "Parked")["id"]
        assert call(node, "DELETE", f"/ji/waiting/{doomed}")[0] == 204
        assert error(node, "GET", f"/ji/{doomed}") == (404, 1)

        cleared = enqueue(node, "Parked")["id"]
        assert call(node, "POST", "/q/2/clear")[0] == 204
        assert error(node, "GET", f"/ji/{cleared}") == (404, 1)  # deleted, as upstream ClientApiTestJdbc.testClearQueue
    finally:
        assert call(node, "DELETE", "/q/2/pause")[0] == 204


def test_running_job_instructions(node: RunningNode) -> None:
    sleepers = [enqueue(node, "Sleep")["id"] for _ in range(2)]
    for job_id in sleepers:
        wait_state(node, job_id, "RUNNING")
    assert call(node, "POST", f"/ji/running/paused/{sleepers[0]}")[0] == 204
    assert error(node, "POST", f"/ji/running/paused/{sleepers[0]}") == (400, 10)
    assert call(node, "DELETE", f"/ji/running/paused/{sleepers[0]}")[0] == 204
    assert error(node, "DELETE", f"/ji/running/paused/{sleepers[0]}") == (400, 10)
    assert error(node, "POST", f"/ji/paused/{sleepers[0]}") == (400, 10)
    assert ok_json(node, "POST", "/ji/killed", [*sleepers, UNKNOWN]) == 2
    for job_id in sleepers:
        assert wait_state(node, job_id, "CRASHED", "KILLED")["state"] == "CRASHED"


def test_restart_and_enqueue_from_history(node: RunningNode) -> None:
    failed = enqueue(node, "Fail", user="dan")["id"]
    wait_state(node, failed, "CRASHED")
    restarted = ok_json(node, "DELETE", f"/ji/crashed/{failed}")
    assert restarted["id"] > failed and restarted["user"] == "dan"
    assert error(node, "GET", f"/ji/{failed}") == (404, 1)  # the crashed instance leaves the history
    wait_state(node, restarted["id"], "CRASHED")
    root = ok_xml(node, "DELETE", f"/ji/crashed/{restarted['id']}")
    assert root.tag == "jobInstance"

    echo = enqueue(node, "Echo", user="eve")["id"]
    wait_state(node, echo, "ENDED")
    status, headers, body = call(node, "POST", f"/ji/{echo}", accept="*/*")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    again = int(body)
    assert ok_json(node, "GET", f"/ji/{again}")["user"] == "eve"
    assert isinstance(ok_json(node, "POST", f"/ji/{echo}"), int)
    created = ok_json(node, "POST", "/ji/bulk", [echo, UNKNOWN])
    assert len(created) == 1 and created[0] > again
    assert ok_json(node, "POST", "/ji/bulk", []) == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ji/killed", {"ids": [1]}),
        ("/ji/paused", ["x"]),
        ("/ji/resumed", [-1]),
        ("/ji/bulk", [True]),
        ("/q/1/bulk", "[1,"),
    ],
)
def test_bad_bulk_bodies_are_a_400(node: RunningNode, path: str, body: Any) -> None:
    assert error(node, "POST", path, body) == (400, 10)


@pytest.mark.parametrize(
    "path",
    ["/ji/1/position/x", "/ji/1/priority/99999999999", "/ji/1/delay/-1", "/ji/1/delay/99999999999999999999"],
)
def test_bad_path_numbers_are_a_400(node: RunningNode, path: str) -> None:
    job = enqueue(node, "Echo", startState="HOLDED")["id"]
    assert error(node, "POST", path.replace("/1/", f"/{job}/")) == (400, 10)


# ---------------------------------------------------------------------------------------- queues, definitions


def test_queues(node: RunningNode) -> None:
    queues = ok_json(node, "GET", "/q")
    assert queues == [
        {"id": 1, "name": "DEFAULT", "description": ""},
        {"id": 2, "name": "SLOW", "description": "one at a time"},
    ]
    root = ok_xml(node, "GET", "/q")
    assert root.tag == "queues" and [q.findtext("name") for q in root.findall("queue")] == ["DEFAULT", "SLOW"]
    assert ok_xml(node, "GET", "/q/2/status").text == "RUNNING"
    assert call(node, "GET", "/q/2/enabled-capacity", accept="*/*")[2] == b"1"
    assert call(node, "POST", "/q/2/pause")[0] == 204
    assert ok_json(node, "GET", "/q/2/status") == "PAUSED"
    assert ok_json(node, "GET", "/q/2/enabled-capacity") == 0
    assert call(node, "DELETE", "/q/2/pause")[0] == 204
    assert ok_xml(node, "GET", "/q/2/status").tag == "queueStatus"
    for method, path in [("GET", "/q/9/status"), ("POST", "/q/9/pause"), ("POST", "/q/9/clear")]:
        assert error(node, method, path) == (404, 1), path
    assert error(node, "POST", "/q/9/1") == (410, 1), "job 1 belongs to 0.0.0.0, no member: answered before the queue"
    assert error(node, "GET", "/q/x/status") == (400, 10)


def test_job_definitions_and_templates(node: RunningNode) -> None:
    definitions = ok_json(node, "GET", "/jd")
    assert [d["applicationName"] for d in definitions] == ["Echo", "Sleep", "Fail", "Parked"]
    echo = ok_json(node, "GET", "/jd/name/Echo")
    assert echo["parameters"] == [{"key": "p1", "value": "v1"}] and echo["queue"]["name"] == "DEFAULT"
    assert ok_json(node, "GET", "/jd/name/Parked")["queue"]["name"] == "SLOW"
    assert [d["applicationName"] for d in ok_json(node, "GET", "/jd/demo")] == ["Echo"]
    assert ok_json(node, "GET", "/jd/nothing") == []
    assert ok_xml(node, "GET", "/jd").tag == "jobDefs"
    assert ok_xml(node, "GET", "/jd/name/Echo").tag == "jobDef"
    assert error(node, "GET", "/jd/name/Nope") == (404, 1)

    template = ok_xml(node, "GET", "/jr")
    assert template.tag == "jobRequestBaseImpl" and template.findtext("applicationName") == "appName"
    assert ok_json(node, "GET", "/jr")["user"] == "rsapi user"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/schedule/1"),
        ("POST", "/schedule/1/queue/1"),
        ("POST", "/schedule/1/cron/5"),
        ("POST", "/schedule/1/priority/3"),
    ],
)
def test_schedules_are_refused_clearly(node: RunningNode, method: str, path: str) -> None:
    for fmt in ("json", "xml"):
        assert error(node, method, path, fmt=fmt) == (400, 10)


def test_no_traceback_so_far(node: RunningNode) -> None:
    assert "internal error on" not in Path(node.log_path).read_text()
