"""``POST /peer/handover`` on a node served in-process: what a custodian accepts, refuses and records."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from jqm_node.app import build_app
from jqm_node.cluster.forwarding import FORWARDED_BY
from jqm_node.config import NodeConfig
from jqm_node.ids import id_base
from jqm_node.ledger import holder_of
from jqm_node.model import JobDefinition, Queue
from jqm_node.node import Node, Settings

SELF, GONE = "127.0.0.1", "10.244.0.9"
MARKER = {FORWARDED_BY: GONE}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Node]]:  # type: ignore[type-arg]
    settings = Settings(
        ip=SELF, name="custodian", host="127.0.0.1", port=0, workdir=tmp_path / "work", id_limit=1000,
        shutdown_grace=1, kill_grace=1, id_ledger=f"file:{tmp_path / 'ledger.json'}",
    )  # fmt: skip
    config = NodeConfig(queues=[Queue(id=1, name="q", default=True)], job_definitions=[JobDefinition(0, "T", "true")])
    node = Node(settings, config)
    node.workspace.create()
    await node.start()
    async with TestClient(TestServer(build_app(node), host="127.0.0.1")) as test_client:
        yield test_client, node
    await node.close()


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
    response = await http.post("/peer/handover", data=body, headers=MARKER)
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
    status = await (await http.get("/node/status")).json()
    assert [(h["from"], h["jobs"], h["notRun"]) for h in status["handovers"]] == [(GONE, 1, 1)]
    assert node.journal is not None and '"H"' in node.journal.path.read_text()


async def test_refusals(client: tuple[TestClient, Node]) -> None:  # type: ignore[type-arg]
    http, node = client
    without_marker = await http.post("/peer/handover", data=ndjson(HEADER))
    assert without_marker.status == 403
    bad_header = await http.post("/peer/handover", data=ndjson({"version": 9}), headers=MARKER)
    assert bad_header.status == 400 and "unsupported handover version" in await bad_header.text()
    bad_range = {**HEADER, "ranges": {GONE: [[5, 2_000_000]]}}
    assert (await http.post("/peer/handover", data=ndjson(bad_range), headers=MARKER)).status == 400
    node.engine.drain()
    draining = await http.post("/peer/handover", data=ndjson(HEADER), headers=MARKER)
    assert draining.status == 503, "a draining member leaves soon: the sender tries another one first"
    second_round = await http.post("/peer/handover?evenIfDraining=true", data=ndjson(HEADER), headers=MARKER)
    assert second_round.status == 200
