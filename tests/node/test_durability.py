"""Real node processes on loopback addresses: IDs never repeat, a crash loses nothing acknowledged, SIGTERM drops
nothing, the history of a node that leaves is answered by a member, and expires into a clear 410."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jqm_node.ids import BLOCK_SIZE, id_base, ip_from_id
from tests.node.conftest import RunningNode, alive, launch_node, loopback_addresses, shell_job, stop_node
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
PORT = 1789


def get_json(node: RunningNode, path: str) -> Any:
    status, _, body = node.request("GET", path, headers=JSON)
    assert status == 200, (path, body)
    return json.loads(body)


def node_status(node: RunningNode) -> Any:
    """``GET /node/status`` on the node's management listener."""
    status, _, body = node.manage("GET", "/node/status")
    assert status == 200, body
    return json.loads(body)


def post_json(node: RunningNode, path: str, body: object) -> tuple[int, Any]:
    status, _, reply = node.request(
        "POST", path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **JSON}
    )
    return status, json.loads(reply) if reply else None


def enqueue_status(node: RunningNode, application: str) -> tuple[int, bytes]:
    status, _, body = node.request(
        "POST",
        "/ws/simple/ji",
        data=f"applicationname={application}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, body


@pytest.fixture
def ips() -> tuple[str, ...]:
    return loopback_addresses(3)


@pytest.fixture
def nodes() -> Iterator[list[RunningNode]]:
    """Nodes a test starts itself (to restart them on the same work dir); all stopped at the end."""
    started: list[RunningNode] = []
    yield started
    for node in started:
        stop_node(node)


def config(gate: Path, slots: int = 1) -> dict[str, object]:
    return {
        "queues": [{"name": "main", "maxThreads": slots}],
        "jobDefinitions": [
            shell_job("Echo", 'echo "out $JQM_JI_ID"; echo err >&2; echo file > "$JQM_JI_DELIVERY_DIR/report.txt"'),
            shell_job("Wait", f'echo $$ > "{gate}.$JQM_JI_ID.pid"; while [ ! -e {gate} ]; do sleep 0.05; done'),
            shell_job("Quick", "true"),
            shell_job("Fail", "echo broken >&2; exit 4"),
            shell_job("Sleep", "sleep 1"),
        ],
    }


# ---------------------------------------------------------------------------------------- crash and restart


@pytest.mark.parametrize("journal", ["on", "off"])
def test_sigkill_and_restart_never_repeats_an_id(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path, journal: str
) -> None:
    work, cfg, env = tmp_path / "n", config(tmp_path / "gate", slots=4), {"JQM_JOURNAL": journal}
    node = launch_node(work, ip=ips[0], port=PORT, config=cfg, env=env)
    nodes.append(node)
    first = [node.enqueue("Quick") for _ in range(5)]
    node.stop(signal.SIGKILL)
    node = launch_node(work, ip=ips[0], port=PORT, config=cfg, env=env)
    nodes.append(node)
    second = [node.enqueue("Quick") for _ in range(5)]
    assert min(second) > max(first), "a restarted node continues above the address's high-water mark"
    assert all(ip_from_id(job_id) == ips[0] for job_id in first + second)
    status = node_status(node)
    assert status["idsUsed"] == 5 and status["idCapacity"] == BLOCK_SIZE - (second[0] - id_base(ips[0]))
    assert status["ledger"]["backend"] == f"file:{work.resolve() / 'id-ledger.json'}"


def test_sigkill_loses_no_acknowledged_job(nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    work, cfg = tmp_path / "n", config(gate)
    node = launch_node(work, ip=ips[0], port=PORT, config=cfg)
    nodes.append(node)
    finished = node.enqueue("Echo")
    node.wait_state(finished, "ENDED")
    before = get_json(node, f"/ws/client/ji/{finished}")
    running = node.enqueue("Wait")
    node.wait_state(running, "RUNNING")
    pid_file = Path(f"{gate}.{running}.pid")
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the job's pid in its file")
    pid = int(pid_file.read_text())
    queued = [node.enqueue("Echo", user="q") for _ in range(2)]
    status, held = post_json(node, "/ws/client/ji", {"applicationName": "Quick", "startState": "HOLDED"})
    assert status == 200
    future = int((time.time() + 3600) * 1000)
    status, scheduled = post_json(node, "/ws/client/ji", {"applicationName": "Quick", "runAfter": future})
    assert status == 200
    assert [node.state(j) for j in queued] == ["SUBMITTED", "SUBMITTED"]

    node.stop(signal.SIGKILL)
    node = launch_node(work, ip=ips[0], port=PORT, config=cfg)
    nodes.append(node)

    after = get_json(node, f"/ws/client/ji/{finished}")
    assert after == before, "a finished job comes back exactly as it was"
    assert node.request("GET", f"/ws/simple/stdout?id={finished}")[2] == f"out {finished}\n".encode()
    assert node.state(running) == "CRASHED"
    messages = get_json(node, f"/ws/client/ji/{running}/messages")
    assert any("stopped while this job was running" in m for m in messages), messages
    wait_until(lambda: not alive(pid), what="the crashed job's leftover process killed")
    for job_id in queued:
        assert node.wait_state(job_id, "ENDED") == "ENDED", "queued jobs run after the restart"
    assert node.state(held["id"]) == "HOLDED"
    assert node.state(scheduled["id"]) == "SCHEDULED"
    assert get_json(node, f"/ws/client/ji/{scheduled['id']}")["runAfter"] == future
    new = node.enqueue("Quick")
    assert new > max(finished, running, *queued, held["id"], scheduled["id"])
    recovered = node_status(node)["journal"]["recovered"]
    assert recovered["jobs"] == 6 and recovered["crashed"] == 1
    gate.touch()


def test_two_nodes_share_one_file_ledger(nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path) -> None:
    ledger = tmp_path / "shared" / "ledger.json"
    env = {"JQM_ID_LEDGER": f"file:{ledger}", "JQM_JOURNAL": "off"}
    cfg = config(tmp_path / "gate")
    handed: list[int] = []
    for _ in range(2):
        pair = [launch_node(tmp_path / ip, ip=ip, port=PORT, config=cfg, env=env) for ip in (ips[0], ips[1])]
        nodes.extend(pair)
        handed += [node.enqueue("Quick") for node in pair for _ in range(3)]
        for node in pair:
            node.stop(signal.SIGKILL)
    assert len(set(handed)) == len(handed) == 12
    entries = json.loads(ledger.read_text())
    assert set(entries) == {ips[0], ips[1]}
    for ip, entry in entries.items():
        mine = [job_id for job_id in handed if ip_from_id(job_id) == ip]
        assert len(mine) == 6 and entry["next"] > max(mine) - id_base(ip)


# ---------------------------------------------------------------------------------------- ledger limits


def test_ledger_outage_takes_what_is_in_hand_then_refuses(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.json"
    node = launch_node(tmp_path / "n", ip=ips[0], port=PORT, config=config(tmp_path / "gate"),
                       env={"JQM_ID_LEDGER": f"file:{ledger}"})  # fmt: skip
    nodes.append(node)
    node.enqueue("Quick")
    in_hand = node_status(node)["idsReserved"]
    assert in_hand > 0
    saved = ledger.read_text()
    ledger.unlink()
    ledger.mkdir()  # the ledger can no longer be read
    taken = 0
    while (answer := enqueue_status(node, "Quick"))[0] == 200:
        taken += 1
        assert taken <= in_hand
    assert taken == in_hand, "exactly the IDs reserved ahead are handed out"
    assert answer[0] == 503 and b"rather than risk a duplicate ID" in answer[1]
    status = node_status(node)
    assert status["idsReserved"] == 0 and status["ledger"]["reachable"] is False
    assert node.request("GET", "/ws/simple/localnode/health")[0] == 503
    ledger.rmdir()
    ledger.write_text(saved)
    wait_until(lambda: enqueue_status(node, "Quick")[0] == 200, timeout=15, what="enqueues taken again")
    metrics = node.manage("GET", "/metrics")[2].decode()
    assert "jqm_ledger_failures_total" in metrics and "jqm_ledger_reachable 1" in metrics


def test_an_address_whose_million_is_used_up(nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({ips[0]: {"next": BLOCK_SIZE - 3, "custody": []}}))
    node = launch_node(tmp_path / "n", ip=ips[0], port=PORT, config=config(tmp_path / "gate"),
                       env={"JQM_ID_LEDGER": f"file:{ledger}"})  # fmt: skip
    nodes.append(node)
    status = node_status(node)
    assert (status["idCapacity"], status["idsRemaining"]) == (3, 3)
    assert [node.enqueue("Quick") for _ in range(3)][-1] == id_base(ips[0]) + BLOCK_SIZE - 1
    answer = enqueue_status(node, "Quick")
    assert answer[0] == 503 and b"has used all of its 1,000,000 job IDs" in answer[1]
    status, _, body = node.request("GET", "/ws/simple/localnode/health")
    assert status == 503 and b"another address" in body


# ---------------------------------------------------------------------------------------- SIGTERM


def test_sigterm_drains_runs_what_it_holds_and_reports_the_rest(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    env = {"JQM_DRAIN_ACCEPT_SECONDS": "2", "JQM_SHUTDOWN_GRACE": "6", "JQM_SHUTDOWN_LINGER": "30"}
    node = launch_node(tmp_path / "n", ip=ips[0], port=PORT, config={**config(gate, slots=2), "name": "n"}, env=env)
    nodes.append(node)
    short = node.enqueue("Sleep")
    stuck = node.enqueue("Wait")
    node.wait_state(stuck, "RUNNING")
    queued = node.enqueue("Echo")  # waits for a slot: runs once Sleep ends
    status, held = post_json(node, "/ws/client/ji", {"applicationName": "Quick", "startState": "HOLDED"})
    assert status == 200

    node.process.send_signal(signal.SIGTERM)
    wait_until(lambda: node.request("GET", "/ws/simple/localnode/health")[0] == 503, what="unready at once")
    late = node.enqueue("Quick")  # inside the accept window: taken, and run
    wait_until(lambda: enqueue_status(node, "Quick")[0] == 503, timeout=10, what="the accept window closes")
    for job_id in (short, queued, late):
        assert node.wait_state(job_id, "ENDED", "CRASHED", "CANCELLED") == "ENDED", job_id
    assert node.wait_state(stuck, "CRASHED", timeout=30) == "CRASHED"
    assert node.state(held["id"]) == "CANCELLED"
    killed = get_json(node, f"/ws/client/ji/{stuck}/messages")
    assert killed[-1] == f"Killed: the node n ({ips[0]}) shut down (SIGTERM) and its shutdown grace of 6s ran out"
    never = get_json(node, f"/ws/client/ji/{held['id']}/messages")
    assert never == [f"Cancelled, never started: the node n ({ips[0]}) shut down (SIGTERM) and its shutdown grace "
                     "of 6s ran out"]  # fmt: skip
    assert node_status(node)["drainReason"] == "sigterm"
    node.process.send_signal(signal.SIGTERM)  # a second signal ends the linger: nothing more to read
    assert node.process.wait(timeout=60) == 0
    log = node.log_path.read_text()
    assert f"shutdown: 1 job(s) killed (CRASHED), 1 never started (CANCELLED): killed [{stuck}]" in log
    assert "was not handed over: no other member" in log


# ---------------------------------------------------------------------------------------- handover and custody


def test_history_is_handed_over_answered_by_the_custodian_then_expires(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.json"
    env = {
        "JQM_PEERS": ",".join(ips), "JQM_ID_LEDGER": f"file:{ledger}", "JQM_HISTORY_MAX_JOBS": "2",
        "JQM_HANDOVER_LOG_BYTES": "8", "JQM_FORWARD_TIMEOUT": "5",
    }  # fmt: skip
    cfg = config(tmp_path / "gate")
    leaving, b, c = (launch_node(tmp_path / ip, ip=ip, port=PORT, config=cfg, env=env) for ip in ips)
    nodes.extend([leaving, b, c])
    oldest = leaving.enqueue("Quick")
    leaving.wait_state(oldest, "ENDED")
    echo = leaving.enqueue("Echo", user="zoe")
    leaving.wait_state(echo, "ENDED")
    failed = leaving.enqueue("Fail", user="zoe")
    leaving.wait_state(failed, "CRASHED")
    before = get_json(leaving, f"/ws/client/ji/{echo}")
    files = get_json(leaving, f"/ws/client/ji/{echo}/files")

    assert leaving.stop(signal.SIGTERM) == 0
    custodian, other = (b, c) if node_status(b)["handovers"] else (c, b)
    handovers = node_status(custodian)["handovers"]
    assert [(h["from"], h["jobs"], h["notRun"]) for h in handovers] == [(leaving.ip, 3, 0)]
    assert "jqm_handovers_received_total 1" in custodian.manage("GET", "/metrics")[2].decode()
    custody = json.loads(ledger.read_text())[leaving.ip]["custody"]
    assert [holder for _, _, holder in custody] == [custodian.ip]

    custodian.stop(signal.SIGKILL)  # the custodian journaled what it took: a crash loses none of it
    custodian = launch_node(custodian.workdir, ip=custodian.ip, port=PORT, config=cfg, env=env)
    nodes.append(custodian)
    assert node_status(custodian)["journal"]["recovered"]["held"] == 2
    metrics = custodian.manage("GET", "/metrics")[2].decode()
    assert "jqm_history_held_jobs 2" in metrics and "jqm_journal_bytes " in metrics
    for reader in (other, custodian):
        assert get_json(reader, f"/ws/client/ji/{echo}") == before
        assert reader.request("GET", f"/ws/simple/status?id={failed}")[2] == b"CRASHED"
        stdout = reader.request("GET", f"/ws/simple/stdout?id={echo}")[2]
        assert stdout.endswith(str(echo)[-7:].encode() + b"\n") and b"were not handed over" in stdout
        assert reader.request("GET", f"/ws/client/ji/{failed}/stderr")[2] == b"broken\n"
        assert get_json(reader, f"/ws/client/ji/{echo}/files") == files
        status, _, body = reader.request("GET", f"/ws/client/ji/files/{files[0]['id']}", headers=JSON)
        assert status == 410 and "a handover keeps the list of deliverables" in json.loads(body)["userReadableMessage"]
        status, _, body = reader.request("GET", f"/ws/client/ji/{oldest}", headers=JSON)
        assert (
            status == 410
            and "has expired (this node keeps the 2 most recent jobs and" in json.loads(body)["userReadableMessage"]
        )
    status, page = post_json(other, "/ws/client/ji/query", {"user": "zoe"})
    assert status == 200 and [job["id"] for job in page["instances"]] == [echo, failed]

    assert custodian.stop(signal.SIGTERM) == 0  # a custodian that leaves hands over what it holds too
    assert node_status(other)["handovers"][-1]["from"] == custodian.ip
    assert get_json(other, f"/ws/client/ji/{echo}") == before
    assert json.loads(ledger.read_text())[leaving.ip]["custody"][-1][2] == other.ip
    status, _, body = other.request("GET", f"/ws/client/ji/{oldest}", headers=JSON)
    assert status == 410


def test_jobs_answered_twice_during_the_linger_are_counted_once(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path
) -> None:
    env = {"JQM_PEERS": ",".join(ips[:2]), "JQM_ID_LEDGER": f"file:{tmp_path / 'ledger.json'}"}
    cfg = config(tmp_path / "gate")
    leaving = launch_node(tmp_path / "a", ip=ips[0], port=PORT, config=cfg, env={**env, "JQM_SHUTDOWN_LINGER": "60"})
    custodian = launch_node(tmp_path / "b", ip=ips[1], port=PORT, config=cfg, env=env)
    nodes.extend([leaving, custodian])
    done = [leaving.enqueue("Quick", user="kim") for _ in range(3)]
    for job_id in done:
        leaving.wait_state(job_id, "ENDED")
    leaving.process.send_signal(signal.SIGTERM)
    wait_until(lambda: node_status(custodian)["handovers"], what="the handover")
    assert leaving.process.poll() is None, "still lingering: both nodes answer for these jobs"
    assert [job["id"] for job in get_json(custodian, "/ws/client/ji")] == done
    status, page = post_json(custodian, "/ws/client/ji/query", {"user": "kim"})
    assert status == 200 and page["resultSize"] == 3 and [job["id"] for job in page["instances"]] == done
    leaving.process.send_signal(signal.SIGTERM)
    assert leaving.process.wait(timeout=30) == 0


def test_without_a_ledger_the_custodian_still_takes_the_history(
    nodes: list[RunningNode], ips: tuple[str, ...], tmp_path: Path
) -> None:
    env = {"JQM_PEERS": ",".join(ips[:2]), "JQM_ID_LEDGER": "off"}
    cfg = config(tmp_path / "gate")
    leaving, custodian = (launch_node(tmp_path / ip, ip=ip, port=PORT, config=cfg, env=env) for ip in ips[:2])
    nodes.extend([leaving, custodian])
    job_id = leaving.enqueue("Echo")
    leaving.wait_state(job_id, "ENDED")
    assert leaving.stop(signal.SIGTERM) == 0
    assert custodian.state(job_id) == "ENDED", "nothing records custody: only the custodian answers for it"
    assert node_status(custodian)["handoverSent"] is None
    assert node_status(custodian)["handovers"][0]["jobs"] == 1
