"""``POST /peer/handover`` on a node served in-process: what a custodian accepts, refuses and records.

The node has a cluster secret (authentication off, as ``--auth off`` with ``JQM_CLUSTER_SECRET_FILE``):
a handover must be signed by a node of the cluster, as every node-to-node call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from jqm_node.app import build_app, build_management_app
from jqm_node.cluster import peerauth
from jqm_node.config import NodeConfig, Settings
from jqm_node.ids import id_base
from jqm_node.ledger import holder_of
from jqm_node.model import JobDefinition, Queue
from jqm_node.node import Node
from jqm_node.security_settings import SecuritySettings

SELF, GONE = "127.0.0.1", "10.244.0.9"
SECRET = b"cluster-secret-of-the-handover-tests"
HANDOVER = "/peer/handover"


def signed(path_qs: str = HANDOVER, *, secret: bytes = SECRET) -> dict[str, str]:
    """The headers of a handover ``GONE`` sends (a node's own call: no user)."""
    return peerauth.sign(secret, method="POST", path_qs=path_qs, sender=GONE)


def tampered() -> dict[str, str]:
    """Valid headers with one digit of the HMAC changed."""
    headers = signed()
    mac = headers[peerauth.SIGNATURE]
    return {**headers, peerauth.SIGNATURE: mac[:-1] + ("1" if mac.endswith("0") else "0")}


BODY_TIMEOUT = 0.3


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Node]]:  # type: ignore[type-arg]
    settings = Settings(
        ip=SELF, name="custodian", host="127.0.0.1", port=0, workdir=tmp_path / "work", id_limit=1000,
        shutdown_grace=1, kill_grace=1, id_ledger=f"file:{tmp_path / 'ledger.json'}",
        security=SecuritySettings(cluster_secret=SECRET, body_timeout=BODY_TIMEOUT),
    )  # fmt: skip
    config = NodeConfig(queues=[Queue(id=1, name="q", default=True)], job_definitions=[JobDefinition(0, "T", "true")])
    node = Node(settings, config)
    node.workspace.create()
    await node.start()
    async with TestClient(TestServer(build_app(node), host="127.0.0.1")) as test_client:
        yield test_client, node
    await node.close()


async def node_status(node: Node) -> dict[str, Any]:
    """``GET /node/status`` of the node's management listener."""
    async with TestClient(TestServer(build_management_app(node), host="127.0.0.1")) as management:
        return await (await management.get("/node/status")).json()  # type: ignore[no-any-return]


def job_line(n: int, *, state: str = "ENDED", stdout: bytes = b"") -> dict[str, Any]:
    now = time.time()  # an old end date would expire at once (JQM_HISTORY_MAX_AGE_SECONDS)
    fields = [id_base(GONE) + n, "T", "q", state, 1.0, now - 3, 0, None, None, "ann", None, None, None, None, None,
              None, None, None, None, now - 2, now - 1, None, ["done"], None]  # fmt: skip
    return {"node": "gone-node", "job": fields, "stdout": base64.b64encode(stdout).decode(), "stderr": ""}


def ndjson(*items: object) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


HEADER = {"version": 1, "from": GONE, "node": "gone-node", "jobs": 4, "notRun": 1, "ranges": {GONE: [[0, 10]]}}


async def test_a_handover_is_taken_checked_journaled_and_recorded(client: tuple[TestClient, Node]) -> None:  # type: ignore[type-arg]
    http, node = client
    body = ndjson(
        HEADER,
        job_line(5, stdout=b"hello\n"),
        job_line(50),  # outside the declared ranges
        job_line(6, state="RUNNING"),  # not finished
        {"job": "garbage"},
    )
    response = await http.post(HANDOVER, data=body, headers=signed())
    assert response.status == 200, await response.text()
    assert await response.json() == {"accepted": 1, "custodyRecorded": True}
    held = id_base(GONE) + 5
    answer = await http.get(f"/ws/client/ji/{held}", headers={"Accept": "application/json"})
    job = await answer.json()
    assert (job["state"], job["nodeName"], job["messages"], job["user"]) == ("ENDED", "gone-node", ["done"], "ann")
    assert await (await http.get(f"/ws/simple/stdout?id={held}")).read() == b"hello\n"
    gone = await http.get(f"/ws/client/ji/{id_base(GONE) + 7}", headers={"Accept": "application/json"})
    assert gone.status == 410, "in a handed-over range, without a record"
    assert holder_of(await node.ledger.read(), held) == SELF  # type: ignore[union-attr]
    status = await node_status(node)
    assert [(h["from"], h["jobs"], h["notRun"]) for h in status["handovers"]] == [(GONE, 1, 1)]
    assert node.journal is not None and '"H"' in node.journal.path.read_text()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no node-to-node headers"),
        pytest.param({peerauth.FORWARDED_BY: GONE, peerauth.USER: ""}, id="marker without signature"),
        pytest.param(signed(secret=b"not-the-cluster-secret-at-all"), id="signed with another secret"),
        pytest.param(signed(HANDOVER + "?evenIfDraining=true"), id="signature of another path"),
        pytest.param({**signed(), peerauth.FORWARDED_BY: "10.244.0.10"}, id="signature of another sender"),
        pytest.param(tampered(), id="forged signature"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="a user's credential instead"),
    ],
)
async def test_an_unsigned_or_forged_handover_is_refused_and_changes_nothing(
    client: tuple[TestClient, Node],  # type: ignore[type-arg]
    headers: dict[str, str],
) -> None:
    http, node = client
    body = ndjson(HEADER, job_line(5, stdout=b"hello\n"))
    response = await http.post(HANDOVER, data=body, headers={**headers, "Accept": "application/json"})
    assert response.status == 401, await response.text()
    assert (await response.json())["userReadableMessage"].startswith("node-to-node call refused")
    held = id_base(GONE) + 5
    assert len(node.history) == 0 and node.history.handovers_total == 0
    assert (await node_status(node))["handovers"] == []
    assert node.journal is not None and '"H"' not in node.journal.path.read_text()
    assert holder_of(await node.ledger.read(), held) is None  # type: ignore[union-attr]
    missing = await http.get(f"/ws/client/ji/{held}", headers={"Accept": "application/json"})
    assert missing.status == 410, "no record and no custody: the owner left, nobody holds its history"


async def test_refusals(client: tuple[TestClient, Node]) -> None:  # type: ignore[type-arg]
    http, node = client
    bad_header = await http.post(HANDOVER, data=ndjson({"version": 9}), headers=signed())
    assert bad_header.status == 400 and "unsupported handover version" in await bad_header.text()
    someone_else = {**HEADER, "from": "10.244.0.10"}
    wrong_sender = await http.post(HANDOVER, data=ndjson(someone_else), headers=signed())
    assert wrong_sender.status == 400 and "says it comes from 10.244.0.10 but was sent by" in await wrong_sender.text()
    bad_range = {**HEADER, "ranges": {GONE: [[5, 2_000_000]]}}
    assert (await http.post(HANDOVER, data=ndjson(bad_range), headers=signed())).status == 400
    node.engine.drain()
    draining = await http.post(HANDOVER, data=ndjson(HEADER), headers=signed())
    assert draining.status == 503, "a draining member leaves soon: the sender tries another one first"
    path = HANDOVER + "?evenIfDraining=true"
    second_round = await http.post(path, data=ndjson(HEADER), headers=signed(path))
    assert second_round.status == 200


async def slowly(*parts: bytes) -> AsyncIterator[bytes]:
    """``parts`` sent one by one, twice the body timeout apart."""
    for part in parts:
        await asyncio.sleep(2 * BODY_TIMEOUT)
        yield part


async def test_a_handover_may_take_longer_than_the_body_timeout(client: tuple[TestClient, Node]) -> None:  # type: ignore[type-arg]
    """JQM_BODY_TIMEOUT bounds clients; a handover is bounded by its sender (JQM_HANDOVER_TIMEOUT)."""
    http, node = client
    headers = {"Content-Type": "application/x-ndjson"}
    slow_client_call = await http.post(
        "/ws/client/ji/query", data=slowly(b"{", b"}"), headers={**headers, "Content-Type": "application/json"}
    )
    assert slow_client_call.status == 408, "the same slowness on a client route is cut"
    lines = ndjson(HEADER, job_line(5)).splitlines(keepends=True)
    response = await http.post(HANDOVER, data=slowly(*lines), headers={**headers, **signed()})
    assert response.status == 200, await response.text()
    assert (await response.json())["accepted"] == 1 and len(node.history) == 1
