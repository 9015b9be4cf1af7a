"""The synchronous transport, on the standard library's ``http.client``.

Why not urllib or a third-party library: ``http.client`` keeps connections alive (urllib opens one
per request), never consults proxy environment variables behind the caller's back, and adds no
dependency, so the sync client installs with nothing but Python.

Idle connections are kept in a small pool, so one transport may be shared by threads. A request
that fails on a reused connection before any answer (the server closed it while idle) is sent once
more on a fresh connection; any other failure is a :class:`~jqm_client.errors.JqmConnectionError`.
"""

from __future__ import annotations

import http.client
import queue
import socket
import ssl
import urllib.parse

from jqm_client.errors import JqmConnectionError
from jqm_client.http import HttpRequest, HttpResponse, Sink, is_success, lower_headers

DEFAULT_TIMEOUT = 30.0
CHUNK = 64 * 1024
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class _SinkFailed(Exception):
    """The caller's sink raised: its error, not the connection's."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(cause)
        self.cause = cause


def split_base_url(base_url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path prefix)`` of an ``http(s)://host[:port][/prefix]`` URL."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a node URL looks like http://host:1789 or https://host, got {base_url!r}")
    if parts.query or parts.fragment or parts.username:
        raise ValueError(f"a node URL has no query, fragment or credentials: {base_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, parts.path.rstrip("/")


class HttpTransport:
    """Implements :class:`jqm_client.http.Transport` for one base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 4,
    ) -> None:
        self._scheme, self._host, self._port, self._prefix = split_base_url(base_url)
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue(maxsize=max_idle)
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r})"

    def _connect(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (True: reused) or a new one."""
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            return self._connect(), False

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        try:
            self._idle.put_nowait(connection)
        except queue.Full:
            connection.close()

    def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse:
        connection, reused = self._take()
        try:
            try:
                answer = self._exchange(connection, request)
            except _STALE:
                connection.close()
                if not reused:
                    raise
                connection = self._connect()
                answer = self._exchange(connection, request)
            response = self._read(answer, sink)
        except _SinkFailed as e:
            connection.close()
            raise e.cause from None
        except (OSError, http.client.HTTPException) as e:
            connection.close()
            raise JqmConnectionError(self._describe(request, e)) from e
        if answer.will_close:
            connection.close()
        else:
            self._give_back(connection)
        return response

    def _exchange(self, connection: http.client.HTTPConnection, request: HttpRequest) -> http.client.HTTPResponse:
        connection.request(request.method, self._prefix + request.target, body=request.body, headers=request.headers)
        return connection.getresponse()

    @staticmethod
    def _read(answer: http.client.HTTPResponse, sink: Sink | None) -> HttpResponse:
        headers = lower_headers(answer.getheaders())
        if sink is None or not is_success(answer.status):
            return HttpResponse(status=answer.status, headers=headers, body=answer.read())
        while chunk := answer.read(CHUNK):
            try:
                sink(chunk)
            except Exception as e:  # re-raised unchanged by send()
                raise _SinkFailed(e) from e
        return HttpResponse(status=answer.status, headers=headers)

    def _describe(self, request: HttpRequest, error: BaseException) -> str:
        what = f"{request.method} {request.path} on {self._scheme}://{self._host}:{self._port}"
        if isinstance(error, socket.timeout | TimeoutError):
            return f"{what}: no answer within {self._timeout:g}s"
        return f"{what}: {error or type(error).__name__}"

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
