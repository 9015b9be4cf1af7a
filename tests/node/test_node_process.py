"""A real jqm-node process over real HTTP, running real shell jobs."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from jqm_node.ids import id_base, ip_from_id
from tests.node.conftest import RunningNode, StartNode, alive, shell_job
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

DESCRIPTOR = """<jqm><jar>
  <path>echo "hello from $JQM_JI_ID"</path>
  <pathType>DEFAULTSHELLCOMMAND</pathType>
  <jobdefinitions><jobDefinition>
    <name>DemoEcho</name><description>echo</description><canBeRestarted>true</canBeRestarted>
    <javaClassName></javaClassName><module>Demos</module><highlander>false</highlander>
    <parameters><parameter><key>p1</key><value>world</value></parameter></parameters>
  </jobDefinition></jobdefinitions>
</jar></jqm>
"""


LEGACY_STATUS_KEYS = (
    "ip", "name", "idsUsed", "idCapacity", "idsRemaining", "draining", "drainReason", "auth", "accepting", "stopping",
    "running", "queued",
)  # fmt: skip


def error_code(body: bytes) -> int:
    return int(body.split(b"<errorCode>")[1].split(b"</errorCode>")[0])


def test_upstream_descriptor_on_its_own_address(start_node: StartNode, tmp_path: Path) -> None:
    descriptor = tmp_path / "demo.xml"
    descriptor.write_text(DESCRIPTOR)
    node = start_node(ip="127.0.0.2", args=["--jobdefs", str(descriptor)])
    status, _, body = node.request("GET", "/ws/simple/localnode/health")
    assert (status, body) == (200, b"Pollers are polling - IP: 127.0.0.2")
    job_id = node.enqueue("DemoEcho")
    assert ip_from_id(job_id) == "127.0.0.2"
    assert job_id == id_base("127.0.0.2")
    assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED"
    status, headers, body = node.request("GET", f"/ws/simple/stdout?id={job_id}")
    assert status == 200
    assert body == f"hello from {job_id} world\n".encode()
    assert headers["Content-Disposition"] == f"attachment; filename={job_id}.stdout.txt"


def test_job_environment(start_node: StartNode) -> None:
    dump = f"{sys.executable} -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    node = start_node(
        config={
            "name": "envnode",
            "queues": [{"name": "Q1", "maxThreads": 2}],
            "jobDefinitions": [
                shell_job("Env", dump, module="jdmod", keyword1="jk1", keyword2="jk2", priority=4),
            ],
        }
    )
    job_id = node.enqueue("Env", module="mod", keyword1="k1", keyword3="k3", user="alice")
    assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED"
    env = json.loads(node.request("GET", f"/ws/simple/stdout?id={job_id}")[2])
    assert {k: v for k, v in env.items() if k.startswith("JQM_") and not k.endswith(("_DIR", "_PASSWORD"))} == {
        "JQM_JD_APPLICATION_NAME": "Env",
        "JQM_JD_KEYWORD_1": "jk1",
        "JQM_JD_KEYWORD_2": "jk2",
        "JQM_JD_KEYWORD_3": "",
        "JQM_JD_MODULE": "jdmod",
        "JQM_JD_PRIORITY": "4",
        "JQM_JI_ID": str(job_id),
        "JQM_JI_PARENT_ID": "",
        "JQM_JI_KEYWORD_1": "k1",
        "JQM_JI_KEYWORD_2": "",
        "JQM_JI_KEYWORD_3": "k3",
        "JQM_JI_MODULE": "mod",
        "JQM_JI_USER_NAME": "alice",
        "JQM_NODE_NAME": "envnode",
        "JQM_NODE_APPLICATION_ROOT": str(node.workdir.resolve()),
        "JQM_NODE_LOG_LEVEL": "INFO",
        "JQM_Q_NAME": "Q1",
        "JQM_API_LOGIN": f"jqm-job-{job_id}",
        "JQM_API_LOCAL_URL": f"http://127.0.0.1:{node.port}",
    }
    assert len(env["JQM_API_PASSWORD"]) >= 32, "a random password of the job's own"
    assert env["JQM_JI_INPUT_DIR"] == str(node.workdir.resolve() / "inputs" / str(job_id))
    assert env["JQM_JI_TEMP_DIR"].startswith(str(node.workdir.resolve()))
    assert env["JQM_JI_DELIVERY_DIR"].startswith(str(node.workdir.resolve()))
    assert not Path(env["JQM_JI_TEMP_DIR"]).exists(), "the temp dir is purged at the end"


def test_log_level_sets_the_nodes_log_and_reaches_jobs(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("Level", 'echo "$JQM_NODE_LOG_LEVEL"')]},
                      args=["--log-level", "debug"])  # fmt: skip
    job_id = node.enqueue("Level")
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2] == b"DEBUG\n"
    assert f"DEBUG jqm_node.engine: job {job_id} (Level) ended" in node.log_path.read_text()


def test_shell_job_runs_in_the_application_root(start_node: StartNode) -> None:
    """Upstream's ShellJobInstanceTracker starts the process in the node's application root
    (``pb.directory(node.getRepo())``), the directory it exports as JQM_NODE_APPLICATION_ROOT: a relative
    path in a command is relative to it, whatever directory the node was started from."""
    node = start_node(
        config={
            "jobDefinitions": [shell_job("Here", 'pwd; cat marker.txt; test "$PWD" = "$JQM_NODE_APPLICATION_ROOT"')]
        }
    )
    (node.workdir / "marker.txt").write_text("found by a relative path\n")
    job_id = node.enqueue("Here")
    assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED", node.request("GET", f"/ws/simple/stderr?id={job_id}")
    stdout = node.request("GET", f"/ws/simple/stdout?id={job_id}")[2].decode()
    assert stdout == f"{node.workdir.resolve()}\nfound by a relative path\n"
    assert Path.cwd() != node.workdir.resolve(), "the test must start the node elsewhere, or it proves nothing"


CHILD_ENQUEUER = """
import base64, os, sys, urllib.request
env = os.environ
credential = env["JQM_API_LOGIN"] + ":" + env["JQM_API_PASSWORD"]
request = urllib.request.Request(
    env["JQM_API_LOCAL_URL"] + "/ws/simple/ji",
    data=("applicationname=Child&parentid=" + env["JQM_JI_ID"]).encode(),
    headers={"Authorization": "Basic " + base64.b64encode(credential.encode()).decode()},
)
print(urllib.request.urlopen(request).read().decode())
with open(sys.argv[1], "w") as kept:  # for the test: is the credential refused once the job is over?
    kept.write(credential)
"""


def test_job_enqueues_a_child_with_its_own_short_lived_credential(start_node: StartNode, tmp_path: Path) -> None:
    script, kept = tmp_path / "enqueue_child.py", tmp_path / "credential"
    script.write_text(CHILD_ENQUEUER)
    node = start_node(
        config={
            "jobDefinitions": [shell_job("Parent", f"{sys.executable} {script} {kept}"), shell_job("Child", "true")]
        }
    )
    parent = node.enqueue("Parent")
    assert node.wait_state(parent, "ENDED", "CRASHED") == "ENDED", node.request("GET", f"/ws/simple/stderr?id={parent}")
    child = int(node.request("GET", f"/ws/simple/stdout?id={parent}")[2])
    assert child == parent + 1
    assert node.wait_state(child, "ENDED") == "ENDED"
    child_job = json.loads(node.request("GET", f"/ws/client/ji/{child}", headers={"Accept": "application/json"})[2])
    assert child_job["parent"] == parent
    login, password = kept.read_text().split(":", 1)
    assert login == f"jqm-job-{parent}"
    status, headers, _ = node.request("POST", "/ws/simple/ji", data=b"applicationname=Child", auth=(login, password))
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert node.request("GET", f"/ws/simple/status?id={child}", auth=(login, password))[0] == 401


def test_kill_ends_the_whole_process_tree(start_node: StartNode, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    tree = f"sleep 300 & echo $! >> {pids}; (sleep 300 & echo $! >> {pids}; wait) & echo $$ >> {pids}; wait"
    node = start_node(config={"jobDefinitions": [shell_job("Tree", tree)]})
    job_id = node.enqueue("Tree")
    wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 3, what="the three pids of the tree")
    assert node.state(job_id) == "RUNNING"
    status, _, body = node.request("POST", f"/ws/client/ji/killed/{job_id}")
    assert status in (200, 204), body
    assert node.wait_state(job_id, "CRASHED", "KILLED") == "CRASHED"  # upstream ShellRunnerTest.testKill: not OK
    numbers = [int(p) for p in pids.read_text().split()]
    wait_until(lambda: not any(alive(p) for p in numbers), what="every process of the tree gone", timeout=15)


def test_crash_pwsh_absent_and_stderr(start_node: StartNode) -> None:
    node = start_node(
        config={
            "jobDefinitions": [
                shell_job("Fails", "echo oops >&2; exit 3"),
                {"name": "Ps", "path": "Write-Output hi", "pathType": "POWERSHELLCOMMAND"},
                {"name": "Missing", "path": "/nonexistent/program", "pathType": "DIRECTEXECUTABLE"},
            ]
        }
    )
    fails = node.enqueue("Fails")
    assert node.wait_state(fails, "ENDED", "CRASHED") == "CRASHED"
    assert node.request("GET", f"/ws/simple/stderr?id={fails}")[2] == b"oops\n"
    if not any(Path(p, "pwsh").exists() for p in os.environ["PATH"].split(":")):
        ps = node.enqueue("Ps")
        assert node.wait_state(ps, "ENDED", "CRASHED") == "CRASHED"
        assert b"pwsh (PowerShell) is not installed" in node.request("GET", f"/ws/simple/stderr?id={ps}")[2]
    missing = node.enqueue("Missing")
    assert node.wait_state(missing, "ENDED", "CRASHED") == "CRASHED"
    assert b"could not start the job process" in node.request("GET", f"/ws/simple/stderr?id={missing}")[2]


def test_direct_executable_gets_parameters_sorted_by_key(start_node: StartNode) -> None:
    node = start_node(
        config={
            "jobDefinitions": [
                {"name": "Echo", "path": "echo", "pathType": "DIRECTEXECUTABLE", "parameters": {"b": "second"}}
            ]
        }
    )
    job_id = node.enqueue("Echo", parameterNames=["c", "a", "blank"], parameterValues=["third", "first", " "])
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2] == b"first second third\n"


def test_deliverables_are_collected_on_success_only(start_node: StartNode) -> None:
    """Upstream ShellRunnerTest.testShellDelivery: a file left in JQM_JI_DELIVERY_DIR is a deliverable whose
    fileFamily is the file's name; upstream's download is named ``fileFamily.id.extension`` (ServiceSimple)."""
    node = start_node(
        config={
            "jobDefinitions": [
                shell_job("Report", 'mkdir "$JQM_JI_DELIVERY_DIR/sub"; echo data > "$JQM_JI_DELIVERY_DIR/sub/r.csv"'),
                shell_job("ReportFails", 'echo data > "$JQM_JI_DELIVERY_DIR/r.csv"; exit 1'),
            ]
        },
        ip="127.0.0.5",
    )
    ok = node.enqueue("Report")
    assert node.wait_state(ok, "ENDED") == "ENDED"
    deliverable_id = ok + 1  # deliverables take their IDs from the node's job IDs: one ID, one object
    status, headers, body = node.request("GET", f"/ws/simple/file?id={deliverable_id}")
    assert (status, body) == (200, b"data\n")
    assert headers["Content-Disposition"] == f"attachment; filename=r.csv.{deliverable_id}.csv"
    files = json.loads(node.request("GET", f"/ws/client/ji/{ok}/files", headers={"Accept": "application/json"})[2])
    assert [(f["fileFamily"], f["originalName"]) for f in files] == [("r.csv", "sub/r.csv")]
    failed = node.enqueue("ReportFails")
    assert failed == deliverable_id + 1
    assert node.wait_state(failed, "CRASHED") == "CRASHED"
    assert node.request("GET", f"/ws/simple/file?id={failed + 1}")[0] == 404


def test_highlander_and_queue_limits(start_node: StartNode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    wait_for_gate = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    node = start_node(
        config={
            "queues": [{"name": "two", "maxThreads": 2}],
            "jobDefinitions": [shell_job("Slow", wait_for_gate), shell_job("Hl", wait_for_gate, highlander=True)],
        }
    )
    first = node.enqueue("Hl")
    node.wait_state(first, "RUNNING")
    waiting = node.enqueue("Hl")
    assert node.enqueue("Hl") == waiting
    assert node.state(waiting) == "SUBMITTED"  # a free slot, but one instance already runs
    slow = [node.enqueue("Slow") for _ in range(2)]
    assert [node.state(j) for j in slow] == ["RUNNING", "SUBMITTED"]  # two slots: Hl + one Slow
    gate.touch()
    for job_id in (first, waiting, *slow):
        assert node.wait_state(job_id, "ENDED") == "ENDED"


def test_drain_refuses_new_jobs_and_lets_running_ones_finish(start_node: StartNode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    node = start_node(config={"jobDefinitions": [shell_job("Wait", f"while [ ! -e {gate} ]; do sleep 0.05; done")]})
    job_id = node.enqueue("Wait")
    node.wait_state(job_id, "RUNNING")
    status, _, body = node.manage("POST", "/node/drain")
    assert status == 202 and json.loads(body)["draining"] is True
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    status, _, body = node.request("POST", "/ws/simple/ji", data=b"applicationname=Wait")
    assert status == 503 and error_code(body) == 11
    gate.touch()
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    status = json.loads(node.manage("GET", "/node/status")[2])
    assert {key: status[key] for key in LEGACY_STATUS_KEYS} | {"name": None} == {
        "ip": "127.0.0.1",
        "name": None,
        "idsUsed": 1,
        "idCapacity": 1_000_000,
        "idsRemaining": 999_999,
        "draining": True,
        "drainReason": "unspecified",
        "auth": True,
        "accepting": False,
        "stopping": False,
        "running": 0,
        "queued": 0,
    }


def test_sigterm_waits_for_running_jobs_then_exits_zero(start_node: StartNode, tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    node = start_node(config={"jobDefinitions": [shell_job("Short", f"sleep 0.5; touch {marker}")]})
    node.wait_state(node.enqueue("Short"), "RUNNING")
    assert node.stop(signal.SIGTERM) == 0
    assert marker.exists()


def test_sigterm_kills_jobs_after_the_grace(start_node: StartNode, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    node: RunningNode = start_node(
        config={"jobDefinitions": [shell_job("Long", f"echo $$ > {pid_file}; sleep 300")]},
        env={"JQM_SHUTDOWN_GRACE": "0.5", "JQM_KILL_GRACE": "1"},
    )
    node.wait_state(node.enqueue("Long"), "RUNNING")
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the job's pid in its file")
    assert node.stop(signal.SIGTERM) == 0
    wait_until(lambda: not alive(int(pid_file.read_text())), what="the job's process gone")


def test_ids_run_out_then_health_fails(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]}, env={"JQM_ID_LIMIT": "2"})
    node.enqueue("T")
    node.enqueue("T")
    status, _, body = node.request("POST", "/ws/simple/ji", data=b"applicationname=T")
    assert status == 503 and b"must be restarted" in body
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    metrics = node.manage("GET", "/metrics")[2].decode()
    assert "jqm_ids_used 2" in metrics and "jqm_ids_remaining 0" in metrics
    assert "jqm_jobs_enqueued_total 2" in metrics


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/ws/simple/ji", b"applicationname=Unknown", 400, 6),
        ("POST", "/ws/simple/ji", b"", 400, 6),
        ("POST", "/ws/simple/ji", b"applicationname=T&parameterNames=a&parameterNames=b&parameterValues=1", 400, 6),
        ("POST", "/ws/simple/ji", b"applicationname=T&parentid=abc", 400, 10),
        ("POST", "/ws/simple/ji", b"%zz=%%%&&==", 400, 6),
        ("GET", "/ws/simple/status?id=abc", None, 400, 10),
        ("GET", "/ws/simple/status?id=-5", None, 400, 10),
        ("GET", "/ws/simple/status", None, 400, 10),
        ("GET", "/ws/simple/status?id=99", None, 410, 1),  # its node (0.0.0.0) is no member
        ("GET", "/ws/simple/status?id=99999999999999999999999999", None, 400, 10),
        ("GET", "/ws/simple/status?id=9223372036854775808", None, 400, 10),
        ("GET", "/ws/simple/status?id=9223372036854775807", None, 404, 1),
        ("POST", "/ws/simple/ji", b"applicationname=T&parentid=100000000000000000000000000", 400, 10),
        ("GET", "/ws/simple/status?id=%D9%A1", None, 400, 10),
        ("GET", "/ws/simple/stdout?id=../../etc/passwd", None, 400, 10),
        ("GET", "/ws/simple/stderr?id=..%2F..%2Fjqm.log", None, 400, 10),
        ("GET", "/ws/simple/file?id=../../../etc/passwd", None, 400, 10),
        ("GET", "/ws/simple/file?id=123", None, 410, 1),
        ("GET", f"/ws/simple/status?id={id_base('127.0.0.1') + 999_999}", None, 404, 1),  # not handed out
        ("GET", "/ws/simple/enginelog?latest=lots", None, 400, 10),
        ("GET", "/ws/simple/nothing-here", None, 404, 1),
        ("DELETE", "/ws/simple/status?id=1", None, 405, 10),
    ],
)
def test_bad_input_gets_an_error_dto(
    start_node: StartNode, method: str, path: str, body: bytes | None, status: int, code: int
) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]})
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    got_status, got_headers, got_body = node.request(method, path, data=body, headers=headers)
    assert got_status == status, got_body
    assert got_headers["Content-Type"].startswith("application/xml")
    assert error_code(got_body) == code


def test_error_dto_in_json_when_asked(start_node: StartNode) -> None:
    node = start_node()
    unknown = id_base("127.0.0.1") + 999_999
    status, _, body = node.request("GET", f"/ws/simple/status?id={unknown}", headers={"Accept": "application/json"})
    assert status == 404
    assert json.loads(body)["errorCode"] == 1


def test_file_field_instead_of_text_is_refused(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]})
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="applicationname"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nT\r\n--{boundary}--\r\n"
    ).encode()
    status, _, reply = node.request(
        "POST", "/ws/simple/ji", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 400 and error_code(reply) == 6


def test_engine_log_newest_first(start_node: StartNode) -> None:
    node = start_node()
    status, _, body = node.request("GET", "/ws/simple/enginelog?latest=1")
    assert status == 200
    assert b"listening on" in body


def test_input_files_reach_the_job(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("Cat", 'cat "$JQM_JI_INPUT_DIR/in.txt"')]})
    request = json.dumps({"applicationName": "Cat", "startState": "HOLDED"}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    job_id = json.loads(node.request("POST", "/ws/client/ji", data=request, headers=headers)[2])["id"]
    assert node.request("POST", f"/ws/client/ji/{job_id}/files/in.txt", data=b"payload")[0] == 200
    assert node.request("DELETE", f"/ws/client/ji/paused/{job_id}")[0] == 204
    assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED"
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2] == b"payload"
    assert not (node.workdir / "inputs" / str(job_id)).exists()


def test_drain_keeps_taking_jobs_while_load_balancers_catch_up(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]}, env={"JQM_DRAIN_ACCEPT_SECONDS": "600"})
    assert node.manage("POST", "/node/drain")[0] == 202
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    assert node.wait_state(node.enqueue("T"), "ENDED") == "ENDED"
    status = json.loads(node.manage("GET", "/node/status")[2])
    assert status["draining"] is True and status["accepting"] is True


def test_sigterm_linger_keeps_answering_after_jobs_are_done(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("T", "true")]}, env={"JQM_SHUTDOWN_LINGER": "5"})
    job_id = node.enqueue("T")
    node.wait_state(job_id, "ENDED")
    node.process.send_signal(signal.SIGTERM)
    wait_until(lambda: node.request("GET", "/ws/simple/localnode/health")[0] == 503, what="health 503")
    assert node.state(job_id) == "ENDED"
    assert node.request("POST", "/ws/simple/ji", data=b"applicationname=T")[0] == 503
    assert node.process.poll() is None
