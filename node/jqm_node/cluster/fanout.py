"""Calls to several peers at once, for cluster-wide reads and bulk calls split per owner.

Each peer gets the same path with the forwarding marker (so it answers for itself only) and is asked
for JSON; all calls run concurrently and share one deadline. A peer that fails or is late is listed
in ``failed`` and its part is missing from the result: the caller flags the answer as partial
(``X-Jqm-Partial-Results``) rather than failing the whole call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Iterable
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
