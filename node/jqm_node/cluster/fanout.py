"""Calls to several peers at once, for cluster-wide reads and bulk calls split per owner.

Each peer gets the same path with the forwarding marker (so it answers for itself only) and is asked
for JSON; all calls run concurrently and share one deadline. A peer that fails or is late is listed
in ``failed`` and its part is missing from the result: the caller flags the answer as partial
(``X-Jqm-Partial-Results``) rather than failing the whole call.

Answers too large to hold (every job of every node) are streamed instead: each peer answers NDJSON
(:data:`NDJSON`, one job per line, in ID order) and :func:`merge_by_id` merges the streams as they
come, so a node holds one line per peer, never a peer's whole answer.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from jqm_node.auth.principal import acting_user
from jqm_node.cluster.custody import OwnerResolver
from jqm_node.cluster.forwarding import FORWARDED_BY, Forwarder
from jqm_node.errors import BadRequestError, GoneError, UnavailableError
from jqm_node.ids import ID_CEILING

log = logging.getLogger(__name__)

PARTIAL_HEADER = "X-Jqm-Partial-Results"
PARTIAL_COUNT_HEADER = "X-Jqm-Partial-Results-Count"
MAX_NAMED_FAILURES = 32
"""Peers named in ``X-Jqm-Partial-Results`` at most (the count header says how many failed): headers stay small."""
MAX_BULK_OWNERS = 64
"""Nodes a bulk call may concern at most: a node never dials more addresses for one request."""
NDJSON = "application/x-ndjson"
"""What a node asks its peers for when it streams their answers: one JSON object per line."""
_CHUNK = 64 * 1024


class PeerStreamError(Exception):
    """A peer's streamed answer broke off (connection lost, timeout, a line that is no JSON object)."""


@dataclass(slots=True)
class PeerAnswers:
    answers: dict[str, Any] = field(default_factory=dict)
    """Parsed JSON body of each peer that answered 2xx, by peer address."""
    failed: list[str] = field(default_factory=list)

    def flag(self, response: web.StreamResponse) -> web.StreamResponse:
        if self.failed:
            response.headers[PARTIAL_HEADER] = ",".join(self.failed[:MAX_NAMED_FAILURES])
            response.headers[PARTIAL_COUNT_HEADER] = str(len(self.failed))
        return response


def is_forwarded(request: web.Request) -> bool:
    return FORWARDED_BY in request.headers


async def call_peers(
    forwarder: Forwarder, request: web.Request, bodies: dict[str, Any | None], *, path: str | None = None
) -> PeerAnswers:
    """Sends ``request``'s method and path (or ``path``) to each peer of ``bodies`` with its JSON body."""
    result = PeerAnswers()
    if not bodies:
        return result

    path_qs = path or request.raw_path
    signed = forwarder.peer_headers(request.method, path_qs, acting_user(request))

    async def one(peer: str, body: Any | None) -> None:
        headers = {**signed, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        url = forwarder.url(peer, path_qs)
        try:
            async with forwarder.session.request(request.method, url, headers=headers, data=data) as r:
                if r.status >= 300:
                    raise aiohttp.ClientResponseError(r.request_info, (), status=r.status, message=await r.text())
                text = await r.text()
                result.answers[peer] = json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.warning("peer %s failed on %s %s: %s", peer, request.method, request.path, e)
            result.failed.append(peer)

    calls = [asyncio.create_task(one(peer, body)) for peer, body in bodies.items()]
    _, late = await asyncio.wait(calls, timeout=forwarder.timeout)
    for task in late:
        task.cancel()
    if late:
        answered = set(result.answers) | set(result.failed)
        result.failed += [peer for peer in bodies if peer not in answered]
    result.failed.sort(key=ipaddress.IPv4Address)
    return result


@dataclass(slots=True)
class PeerStreams:
    streams: dict[str, AsyncGenerator[dict[str, Any], None]] = field(default_factory=dict)
    """The objects each peer that answered 2xx streams, by peer address."""
    failed: list[str] = field(default_factory=list)

    def flag(self, response: web.StreamResponse) -> web.StreamResponse:
        return PeerAnswers(failed=self.failed).flag(response)


async def open_streams(forwarder: Forwarder, request: web.Request, peers: Iterable[str]) -> PeerStreams:
    """Sends ``request`` (a GET) to each peer asking for :data:`NDJSON`; the peers whose answer started
    within the deadline stream their objects, the others are ``failed``. Every stream must be read to its
    end or closed (``aclose``), which releases its connection."""
    result = PeerStreams()
    signed = forwarder.peer_headers(request.method, request.raw_path, acting_user(request))
    headers = {**signed, "Accept": NDJSON}

    async def one(peer: str) -> None:
        try:
            response = await forwarder.session.get(forwarder.url(peer, request.raw_path), headers=headers)
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("peer %s failed on %s %s: %s", peer, request.method, request.path, e)
            result.failed.append(peer)
            return
        if response.status >= 300:
            log.warning("peer %s answered %s on %s %s", peer, response.status, request.method, request.path)
            response.release()
            result.failed.append(peer)
            return
        result.streams[peer] = _objects(response, peer)

    calls = {peer: asyncio.create_task(one(peer)) for peer in peers}
    if calls:
        _, late = await asyncio.wait(calls.values(), timeout=forwarder.timeout)
        for task in late:
            task.cancel()
        result.failed += [peer for peer, task in calls.items() if task in late]
    result.failed.sort(key=ipaddress.IPv4Address)
    return result


async def _objects(response: aiohttp.ClientResponse, peer: str) -> AsyncGenerator[dict[str, Any], None]:
    """The JSON objects of an NDJSON answer, one per line (no line length limit but the object's own)."""
    pending = b""
    try:
        async for chunk in response.content.iter_chunked(_CHUNK):
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                yield _object(line, peer)
        if pending.strip():
            yield _object(pending, peer)
    except (aiohttp.ClientError, TimeoutError) as e:
        raise PeerStreamError(f"peer {peer} broke off its answer: {e or type(e).__name__}") from None
    finally:
        response.release()


def _object(line: bytes, peer: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        raise PeerStreamError(f"peer {peer} sent a line that is no JSON: {line[:80]!r}") from None
    if not isinstance(value, dict) or not isinstance(value.get("id"), int):
        raise PeerStreamError(f"peer {peer} sent a line that is no object with an id: {line[:80]!r}")
    return value


async def merge_by_id(
    sources: Iterable[AsyncGenerator[dict[str, Any], None]],
) -> AsyncIterator[dict[str, Any]]:
    """The objects of several streams, each in ID order, as one stream in ID order; an ID two streams
    give (a node that has just handed its history over, and the member that holds it now) comes once."""
    heads: list[tuple[int, int, dict[str, Any]]] = []
    streams = list(sources)
    try:
        for index, stream in enumerate(streams):
            first = await anext(stream, None)
            if first is not None:
                heads.append((first["id"], index, first))
        heapq.heapify(heads)
        last: int | None = None
        while heads:
            object_id, index, item = heads[0]
            following = await anext(streams[index], None)
            if following is None:
                heapq.heappop(heads)
            else:
                heapq.heapreplace(heads, (following["id"], index, following))
            if object_id != last:
                yield item
                last = object_id
    finally:
        for stream in streams:
            await stream.aclose()


async def split_by_member(ids: Iterable[int], *, resolver: OwnerResolver) -> tuple[list[int], dict[str, list[int]]]:
    """IDs this node answers for, and the others grouped by the member that does (owner or holder of
    their history); IDs nobody can answer for are dropped, as unknown IDs are. Only members appear.

    Raises a 400 error when the IDs concern more than :data:`MAX_BULK_OWNERS` members.
    """
    local: list[int] = []
    remote: dict[str, list[int]] = {}
    for job_id in ids:
        if job_id >= ID_CEILING:
            continue
        try:
            target = await resolver.target(job_id)
        except (GoneError, UnavailableError):
            continue
        if target is None:
            local.append(job_id)
        else:
            remote.setdefault(target, []).append(job_id)
            if len(remote) > MAX_BULK_OWNERS:
                raise BadRequestError(f"a bulk call may concern the jobs of at most {MAX_BULK_OWNERS} nodes")
    return local, remote
