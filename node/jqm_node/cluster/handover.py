"""Handing the finished history of a node that leaves for good over to a member (its custodian).

The leaving node streams one ``POST /peer/handover`` to a member: NDJSON, a header line and then
one line per finished job (its own, and those it held for nodes that left before it)::

    {"version": 1, "from": "10.244.0.5", "node": "demo-abc", "jobs": 2, "notRun": 0,
     "ranges": {"10.244.0.5": [[0, 384]], "10.244.0.3": [[0, 128]]}}
    {"node": "demo-abc", "job": [<record fields>], "stdout": "<base64>", "stderr": "<base64>"}

``ranges`` are the ID offsets whose history the member takes over, by owner address: those the
leaving node's work directory reserved, and those it held. Logs are cut to their last
``JQM_HANDOVER_LOG_BYTES`` (a first line says how much was cut); deliverable contents are not sent,
only their list. The header's ``from`` must be the node that signed the call (``X-Jqm-Forwarded-By``,
checked with its signature before the handler runs). The member journals every record, then records
in the ledger that it holds those ranges (so any node finds it), and answers
``{"accepted": n, "custodyRecorded": true}``.

Members are tried in random order; a member that is draining refuses (503) unless the sender found
no other (second round), one that is stopping always refuses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from jqm_node.cluster.forwarding import FORWARDED_BY, Forwarder
from jqm_node.cluster.membership import Membership
from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError, UnavailableError
from jqm_node.history import HandoverReceived
from jqm_node.ids import BLOCK_SIZE, ip_from_id, offset_of
from jqm_node.journal import Journal
from jqm_node.ledger import IdLedger, LedgerError, record_custody
from jqm_node.model import FINAL_STATES, HeldJob, JobInstance
from jqm_node.netinfo import validate_ipv4
from jqm_node.records import Catalog, RecordError, job_from_fields, job_to_fields

log = logging.getLogger(__name__)

HANDOVER_PATH = "/peer/handover"
FORMAT_VERSION = 1
_CHUNK_BYTES = 256 * 1024
_MAX_LINE_BYTES = 64 * 2**20

Ranges = dict[str, list[tuple[int, int]]]


@dataclass(slots=True)
class HandoverSent:
    """What a leaving node's handover achieved: who took how many jobs, or why nobody did."""

    to: str | None
    jobs: int
    custody_recorded: bool = False
    error: str | None = None
    at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "jobs": self.jobs,
            "custodyRecorded": self.custody_recorded,
            "error": self.error,
            "at": self.at,
        }


# ---------------------------------------------------------------------------------------- sending


def finished_history(engine: Engine) -> list[JobInstance]:
    """What a leaving node hands over: its finished jobs and the ones it holds, by ID."""
    return [job for job in engine.in_id_order() if job.state in FINAL_STATES]


def _cut_note(cut: int) -> bytes:
    return f"[jqm-node: the first {cut} bytes of this log were not handed over]\n".encode() if cut else b""


def _file_tail(path: str, limit: int) -> bytes:
    """The last ``limit`` bytes of a log file, after a first line saying how much was cut."""
    if limit <= 0:
        return b""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return b""  # empty logs are removed when their job ends
    try:
        cut = max(0, os.fstat(fd).st_size - limit)
        return _cut_note(cut) + os.pread(fd, limit, cut)
    finally:
        os.close(fd)


def _kept_tail(data: bytes, limit: int) -> bytes:
    if limit <= 0:
        return b""
    cut = max(0, len(data) - limit)
    return _cut_note(cut) + data[cut:]


def _logs(job: JobInstance, engine: Engine, limit: int, existing: set[str]) -> tuple[bytes, bytes]:
    """The job's stdout and stderr as handed over; ``existing``: the names in the logs directory (a job
    whose log was empty has no file, and looking for 100,000 missing files one by one takes seconds)."""
    if isinstance(job, HeldJob):
        history = engine.history
        return _kept_tail(history.log(job, "stdout"), limit), _kept_tail(history.log(job, "stderr"), limit)
    workspace = engine.workspace
    logs = []
    for path in (workspace.stdout_path(job.id), workspace.stderr_path(job.id)):
        logs.append(_file_tail(path, limit) if os.path.basename(path) in existing else b"")
    return logs[0], logs[1]


def _lines(
    *, header: dict[str, Any], jobs: list[JobInstance], engine: Engine, node_name: str, log_bytes: int
) -> Iterator[bytes]:
    yield json.dumps(header).encode() + b"\n"
    root = engine.workspace.root
    with os.scandir(engine.workspace.logs) as entries:
        existing = {entry.name for entry in entries}
    for job in jobs:
        fields = job_to_fields(job)
        if job.deliverables:  # paths relative to the work dir: the receiver has its own
            fields[23] = [[d[0], _relative(d[1], root), d[2], d[3]] for d in fields[23]]
        stdout, stderr = _logs(job, engine, log_bytes, existing)
        line = {
            "node": job.origin_node if isinstance(job, HeldJob) else node_name,
            "job": fields,
            "stdout": base64.b64encode(stdout).decode("ascii"),
            "stderr": base64.b64encode(stderr).decode("ascii"),
        }
        yield json.dumps(line, separators=(",", ":")).encode() + b"\n"


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return Path(path).name


async def _chunks(lines: Iterator[bytes]) -> AsyncIterator[bytes]:
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= _CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
            await asyncio.sleep(0)  # let the node answer its clients meanwhile
    if buffer:
        yield b"".join(buffer)


async def send_history(
    *,
    engine: Engine,
    forwarder: Forwarder,
    membership: Membership,
    node_name: str,
    own_ranges: list[tuple[int, int]],
    not_run: int,
    log_bytes: int,
    time_budget: float,
) -> HandoverSent:
    """Hands the finished history over to one member; returns who took it, or why nobody did."""
    started = time.time()
    self_ip = forwarder.self_ip
    jobs = finished_history(engine)
    ranges: Ranges = {owner: list(r) for owner, r in engine.history.range_list().items()}
    if own_ranges:
        ranges[self_ip] = [*ranges.get(self_ip, []), *own_ranges]
    if not jobs and not ranges:
        return HandoverSent(to=None, jobs=0, at=started)
    peers = list(await membership.peers())
    if not peers:
        error = "no other member to hand the history over to" if jobs else None  # nothing lost without jobs
        return HandoverSent(to=None, jobs=0, error=error, at=started)
    random.shuffle(peers)
    header = {
        "version": FORMAT_VERSION, "from": self_ip, "node": node_name, "jobs": len(jobs), "notRun": not_run,
        "ranges": ranges,
    }  # fmt: skip
    deadline = asyncio.get_running_loop().time() + time_budget
    refusals: list[str] = []
    for even_if_draining in (False, True):
        for peer in peers:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                refusals.append(f"no time left (JQM_HANDOVER_TIMEOUT {time_budget:g}s)")
                break
            lines = _lines(header=header, jobs=jobs, engine=engine, node_name=node_name, log_bytes=log_bytes)
            path = HANDOVER_PATH + ("?evenIfDraining=true" if even_if_draining else "")
            headers = forwarder.peer_headers("POST", path, "")  # signed; no user: the node's own call
            headers["Content-Type"] = "application/x-ndjson"
            try:
                async with forwarder.session.post(
                    forwarder.url(peer, path),
                    data=_chunks(lines),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=left, connect=forwarder.connect_timeout),
                ) as response:
                    body = await response.text()
                    if response.status != 200:
                        refusals.append(f"{peer}: {response.status} {body[:200]}")
                        continue
                    answer = json.loads(body)
            except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                refusals.append(f"{peer}: {type(e).__name__}: {e}")
                continue
            return HandoverSent(
                to=peer,
                jobs=int(answer.get("accepted", 0)),
                custody_recorded=bool(answer.get("custodyRecorded")),
                at=started,
            )
    return HandoverSent(to=None, jobs=0, error="; ".join(refusals), at=started)


# ---------------------------------------------------------------------------------------- receiving


async def _request_lines(request: web.Request) -> AsyncIterator[bytes]:
    """The body's lines, however long (``StreamReader.readline`` caps a line at 64 KiB)."""
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in request.content.iter_any():
        *complete, rest = chunk.split(b"\n")
        if complete:
            complete[0] = b"".join([*pending, complete[0]])
            pending, pending_size = [], 0
            for line in complete:
                if line.strip():
                    yield line
        pending.append(rest)
        pending_size += len(rest)
        if pending_size > _MAX_LINE_BYTES:
            raise BadRequestError(f"a handover line is longer than {_MAX_LINE_BYTES} bytes")
    last = b"".join(pending)
    if last.strip():
        yield last


def _parse_header(line: bytes) -> tuple[str, int, Ranges]:
    try:
        header = json.loads(line)
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported handover version {header.get('version')!r}")
        sender = validate_ipv4(str(header["from"]))
        ranges: Ranges = {}
        for owner, pairs in dict(header.get("ranges") or {}).items():
            ranges[validate_ipv4(owner)] = [_offsets(lo, hi) for lo, hi in pairs]
        return sender, int(header.get("notRun") or 0), ranges
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise BadRequestError(f"invalid handover header: {e}") from None


def _covered(ranges: Ranges, job_id: int) -> bool:
    n = offset_of(job_id)
    return any(lo <= n < hi for lo, hi in ranges.get(ip_from_id(job_id), ()))


def _offsets(lo: Any, hi: Any) -> tuple[int, int]:
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi <= BLOCK_SIZE):
        raise ValueError(f"bad range [{lo!r}, {hi!r}]")
    return lo, hi


async def receive_history(
    request: web.Request, *, engine: Engine, journal: Journal | None, ledger: IdLedger | None, self_ip: str
) -> dict[str, Any]:
    """Takes a handover (see the module docs): journals each job, then records custody in the ledger."""
    if engine.stopping or (engine.draining and request.query.get("evenIfDraining") != "true"):
        raise UnavailableError("this node is leaving the cluster itself; hand the history over to another member")
    history = engine.history
    workspace = engine.workspace
    catalog = Catalog(engine.definitions, engine.queues)
    lines = _request_lines(request)
    try:
        first = await anext(lines)
    except StopAsyncIteration:
        raise BadRequestError("empty handover") from None
    sender, not_run, ranges = _parse_header(first)
    if sender != request.headers.get(FORWARDED_BY):
        raise BadRequestError(
            f"the handover says it comes from {sender} but was sent by {request.headers.get(FORWARDED_BY)}"
        )
    accepted = 0
    pack = history.new_pack(sender)
    try:
        async for line in lines:
            try:
                item = json.loads(line)
                job = job_from_fields(item["job"], catalog, HeldJob, origin_node=str(item.get("node") or ""))
                if job.state not in FINAL_STATES:
                    raise RecordError(f"job {job.id} is {job.state}, not finished")
                if not _covered(ranges, job.id):
                    raise RecordError(f"job {job.id} is outside the ranges of the handover")
                for deliverable in job.deliverables or ():
                    deliverable.path = str(workspace.root / deliverable.path)
                stdout = base64.b64decode(str(item.get("stdout") or ""), validate=True)
                stderr = base64.b64decode(str(item.get("stderr") or ""), validate=True)
            except (ValueError, TypeError, KeyError) as e:
                log.warning("handover from %s: a line was skipped: %s", sender, e)
                continue
            job.stdout_ref, job.stderr_ref = pack.append(stdout), pack.append(stderr)
            history.add(job)
            if journal is not None:
                journal.held(job, ip_from_id(job.id))
            accepted += 1
            if accepted % 1000 == 0:
                await asyncio.sleep(0)  # let the node answer its clients meanwhile
    finally:
        pack.close()
    for owner, pairs in ranges.items():
        for lo, hi in pairs:
            history.add_range(owner, lo, hi)
            if journal is not None:
                journal.held_range(owner, lo, hi)
    history.sort()
    for expired in history.expire():
        if journal is not None:
            journal.expired(expired)
    received = HandoverReceived(sender=sender, jobs=accepted, not_run=not_run, at=time.time())
    history.handovers.append(received)
    history.handovers_total += 1
    history.received_total += accepted
    if journal is not None:
        journal.handover([received.sender, received.jobs, received.not_run, received.at])
    recorded = await _record_custody(ledger, self_ip=self_ip, ranges=ranges)
    log.info("took over the history of %s: %d job(s), %d never run; custody recorded: %s",
             sender, accepted, not_run, recorded)  # fmt: skip
    return {"accepted": accepted, "custodyRecorded": recorded}


async def _record_custody(ledger: IdLedger | None, *, self_ip: str, ranges: Ranges) -> bool:
    if ledger is None or not ranges:
        return False
    for attempt in range(3):
        try:
            await ledger.update(lambda document: record_custody(document, holder=self_ip, ranges=ranges))
        except LedgerError as e:
            log.warning("cannot record custody in the ledger (attempt %d of 3): %s", attempt + 1, e)
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        return True
    return False
