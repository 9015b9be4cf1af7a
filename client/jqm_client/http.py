"""HTTP messages as plain values, and the two transport interfaces that carry them.

The rest of the library builds :class:`HttpRequest` values and reads :class:`HttpResponse` values
without doing any I/O; a transport (:mod:`jqm_client.transport`, :mod:`jqm_client.aio`, or one of
your own, e.g. through a Kubernetes API server) only moves bytes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

Sink = Callable[[bytes], object]
"""Receives a successful answer's body chunk by chunk (downloads), instead of buffering it."""


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    method: str
    path: str
    """Absolute path below the node's base URL, e.g. ``/ws/client/ji/12``, already percent-encoded."""
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def target(self) -> str:
        """Path and query string, as sent on the request line."""
        if not self.query:
            return self.path
        return f"{self.path}?{urllib.parse.urlencode(self.query)}"


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    """Lower-case header names."""
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def lower_headers(items: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, str]:
    """Response headers with lower-case names (repeated headers joined by commas, as RFC 9110 allows)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    result: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


def is_success(status: int) -> bool:
    return 200 <= status < 300


class Transport(Protocol):
    """Sends one request and returns the whole answer.

    With ``sink``, a successful (2xx) body is passed to it in chunks and not kept in the returned
    response; an error body is always buffered so that it can be read. Raises
    :class:`jqm_client.errors.JqmConnectionError` when the node cannot be reached or times out.
    """

    def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """The asynchronous twin of :class:`Transport`."""

    async def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse: ...

    async def close(self) -> None: ...
