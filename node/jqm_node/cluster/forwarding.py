"""Runs every job-scoped call on the node that owns the job, or on the member holding its history.

A request about a job (or deliverable) that another member must answer (:mod:`.custody` decides
which) is replayed there: method, path, query, body and end-to-end headers, plus a marker header;
the answer is streamed back unchanged (status, headers, body, no re-compression). A request carrying
the marker is always answered locally, so a request is forwarded at most once and never loops.
Only members are ever contacted. A member that refuses the connection answers 502 at once; one that
does not accept it within the connect timeout, or accepts but does not answer within
``JQM_FORWARD_TIMEOUT``, answers 504 naming the timeout that ran out. Before either, the ledger is
read again: if the member has just left and handed its history over, the holder answers instead.
The client's ``Authorization`` (and ``X-Jqm-Authorization``) is not passed on: the request is signed
with the cluster secret and names the user this node authenticated (:mod:`jqm_node.cluster.peerauth`).
The request body is streamed to the target as it arrives; a call whose body was (partly) sent is never
replayed elsewhere.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus

import aiohttp
from aiohttp import StreamReader, web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict
from yarl import URL

from jqm_node.auth.principal import acting_user
from jqm_node.auth.verifier import PROXIED_AUTHORIZATION
from jqm_node.cluster import peerauth
from jqm_node.cluster.custody import OwnerResolver
from jqm_node.errors import JqmError

log = logging.getLogger(__name__)

FORWARDED_BY = peerauth.FORWARDED_BY
_BUFFERED_BYTES = 256 * 1024
_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    )
)  # fmt: skip
_NOT_PASSED_ON = ("Authorization", PROXIED_AUTHORIZATION, peerauth.FORWARDED_BY, peerauth.USER, peerauth.SIGNATURE)
_IDLE_SECONDS = 4.0
"""How long an idle connection to a peer is kept: less than the peers' own idle limit (JQM_HEADER_TIMEOUT)."""


class OwnerUnreachableError(JqmError):
    code = 9
    status = HTTPStatus.BAD_GATEWAY
    replayable = True
    """False once part of the request body was sent or part of the answer relayed: the call cannot be
    sent elsewhere any more."""


class OwnerTimeoutError(OwnerUnreachableError):
    status = HTTPStatus.GATEWAY_TIMEOUT


class _StreamedBody:
    """A request body streamed to a peer as it arrives; ``started`` once any of it was read."""

    def __init__(self, content: StreamReader) -> None:
        self._content = content
        self.started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        async for chunk in self._content.iter_chunked(64 * 1024):
            yield chunk


def end_to_end_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The headers a proxy passes on (every value of a repeated header: ``items`` of a multidict)."""
    result: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _HOP_BY_HOP:
            result.add(name, value)
    return result


class Forwarder:
    """Pooled HTTP connections to the peers, and the rules of when to use them."""

    def __init__(
        self,
        *,
        self_ip: str,
        port: int,
        timeout: float,
        connect_timeout: float = 1.0,
        secret: bytes | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.self_ip = self_ip
        self.port = port
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=timeout)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._secret = secret
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=256, limit_per_host=64, keepalive_timeout=_IDLE_SECONDS, ssl=self._tls if self._tls else True
        )
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the forwarder is not started")
        return self._session

    def url(self, ip: str, path_qs: str) -> URL:
        """The URL of ``path_qs`` (sent as is, never re-quoted: it is what the signature covers) on a peer."""
        return URL(f"{'https' if self._tls else 'http'}://{ip}:{self.port}{path_qs}", encoded=True)

    def peer_headers(self, method: str, path_qs: str, user: str) -> dict[str, str]:
        """The marker, the user and (with a cluster secret) the signature of a node-to-node request."""
        if self._secret is None:
            return {FORWARDED_BY: self.self_ip, peerauth.USER: user}
        return peerauth.sign(self._secret, method=method, path_qs=path_qs, sender=self.self_ip, user=user)

    def headers_for(self, request: web.Request) -> CIMultiDict[str]:
        headers = end_to_end_headers(request.headers)
        for name in _NOT_PASSED_ON:
            headers.popall(name, None)
        headers.update(self.peer_headers(request.method, request.raw_path, acting_user(request)))
        return headers

    async def forward(self, request: web.Request, owner_ip: str) -> web.StreamResponse:
        """Replays ``request`` on ``owner_ip`` and streams the owner's answer back (the body too)."""
        body = _StreamedBody(request.content) if request.body_exists else None
        url = self.url(owner_ip, request.raw_path)
        headers = self.headers_for(request)
        if body is not None and request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)  # streamed as sent, not chunked
        response: web.StreamResponse | None = None
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                headers = end_to_end_headers(upstream.headers)
                length = upstream.content_length
                if request.method == "HEAD":  # no body, and the length the owner's GET would send
                    if length is not None:
                        headers["Content-Length"] = str(length)
                    return web.Response(status=upstream.status, reason=upstream.reason, headers=headers)
                if length is not None and length <= _BUFFERED_BYTES:  # most answers: one write, no chunking
                    answer = await upstream.read()
                    return web.Response(status=upstream.status, reason=upstream.reason, body=answer, headers=headers)
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
                if length is not None:
                    response.content_length = length
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(64 * 1024):
                    await response.write(chunk)
                await response.write_eof()
                return response
        except aiohttp.ConnectionTimeoutError:
            error: OwnerUnreachableError = OwnerTimeoutError(
                f"the node answering for this job ({owner_ip}) did not accept a connection within "
                f"{self.connect_timeout:g}s (connect timeout)"
            )
        except TimeoutError:
            error = OwnerTimeoutError(
                f"the node answering for this job ({owner_ip}) did not answer within {self.timeout:g}s "
                "(JQM_FORWARD_TIMEOUT)"
            )
        except aiohttp.ClientError as e:
            error = OwnerUnreachableError(f"the node answering for this job ({owner_ip}) cannot be reached: {e}")
        error.replayable = not (body is not None and body.started) and not (response is not None and response.prepared)
        raise error


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IdOf = Callable[[web.Request], int | None]


def forwarding_middleware(*, forwarder: Forwarder, resolver: OwnerResolver, id_of: IdOf) -> Middleware:
    """Forwards requests for which ``id_of`` finds an ID another member must answer for."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if FORWARDED_BY in request.headers:
            return await handler(request)
        object_id = id_of(request)
        if object_id is None:
            return await handler(request)
        target = await resolver.target(object_id)
        if target is None:
            return await handler(request)
        try:
            return await forwarder.forward(request, target)
        except OwnerUnreachableError as e:
            holder = await resolver.after_failure(object_id, target) if e.replayable else None
            if holder is None:
                raise
            if holder == resolver.self_ip:
                return await handler(request)
            return await forwarder.forward(request, holder)

    return middleware
