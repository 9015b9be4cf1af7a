"""Runs every job-scoped call on the node that owns the job.

A request about a job (or deliverable) whose ID decodes to another node is replayed there:
method, path, query, body and end-to-end headers, plus a marker header; the owner's answer is
streamed back unchanged (status, headers, body, no re-compression). A request carrying the marker
is always answered locally, so a request is forwarded at most once and never loops. The owner must
be inside the peer networks; any other address is answered "no such job" without a connection.
The client's ``Authorization`` is not passed on: the request is signed with the cluster secret and
names the user this node authenticated (:mod:`jqm_node.cluster.peerauth`).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict
from yarl import URL

from jqm_node.auth.principal import acting_user
from jqm_node.auth.verifier import PROXIED_AUTHORIZATION
from jqm_node.cluster import peerauth
from jqm_node.cluster.peers import PeerPolicy
from jqm_node.errors import JqmError, NotFoundError
from jqm_node.ids import ip_from_id

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
    status = 502  # type: ignore[assignment]


class OwnerTimeoutError(JqmError):
    code = 9
    status = 504  # type: ignore[assignment]


def end_to_end_headers(headers: CIMultiDict[str] | object) -> CIMultiDict[str]:
    result: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():  # type: ignore[attr-defined]
        if name.lower() not in _HOP_BY_HOP:
            result.add(name, value)
    return result


class Forwarder:
    """Pooled HTTP connections to the peers, and the rules of when to use them."""

    def __init__(
        self,
        *,
        policy: PeerPolicy,
        port: int,
        timeout: float,
        connect_timeout: float = 3.0,
        secret: bytes | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.port = port
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=timeout)
        self.timeout = timeout
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
            return {FORWARDED_BY: self.policy.self_ip, peerauth.USER: user}
        return peerauth.sign(self._secret, method=method, path_qs=path_qs, sender=self.policy.self_ip, user=user)

    def check_reachable(self, owner_ip: str, object_id: int) -> None:
        """Raises 'no such job' for owners outside the peer networks: no connection is attempted."""
        if not self.policy.may_contact(owner_ip):
            raise NotFoundError(f"No job instance of ID {object_id} (its node {owner_ip} is not a known peer)")

    def headers_for(self, request: web.Request) -> CIMultiDict[str]:
        headers = end_to_end_headers(request.headers)
        for name in _NOT_PASSED_ON:
            headers.popall(name, None)
        headers.update(self.peer_headers(request.method, request.raw_path, acting_user(request)))
        return headers

    async def forward(self, request: web.Request, owner_ip: str) -> web.StreamResponse:
        """Replays ``request`` on ``owner_ip`` and streams the owner's answer back (the body too)."""
        body = request.content if request.body_exists else None
        url = self.url(owner_ip, request.raw_path)
        headers = self.headers_for(request)
        if body is not None and request.content_length is not None:
            headers["Content-Length"] = str(request.content_length)  # streamed as sent, not chunked
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                headers = end_to_end_headers(upstream.headers)
                length = upstream.content_length
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
        except TimeoutError:
            raise OwnerTimeoutError(
                f"the node owning this job ({owner_ip}) did not answer within {self.timeout:g}s"
            ) from None
        except aiohttp.ClientError as e:
            raise OwnerUnreachableError(f"the node owning this job ({owner_ip}) cannot be reached: {e}") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IdOf = Callable[[web.Request], int | None]


def forwarding_middleware(*, forwarder: Forwarder, self_ip: str, id_of: IdOf) -> Middleware:
    """Forwards requests for which ``id_of`` finds a job ID owned by another node."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if FORWARDED_BY in request.headers:
            return await handler(request)
        object_id = id_of(request)
        if object_id is None:
            return await handler(request)
        owner = ip_from_id(object_id)
        if owner == self_ip:
            return await handler(request)
        forwarder.check_reachable(owner, object_id)
        return await forwarder.forward(request, owner)

    return middleware
