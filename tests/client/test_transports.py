"""Both transports over real HTTP on loopback, against a scripted stand-in server: headers and
credentials on the wire, streamed downloads, error bodies, and connections the server dropped."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jqm_client import AuthenticationError, BasicAuth, BearerToken, JqmClient, JqmConnectionError
from jqm_client.aio import AiohttpTransport, AsyncJqmClient
from jqm_client.http import HttpRequest
from jqm_client.transport import HttpTransport, split_base_url

pytestmark = pytest.mark.integration

BIG = bytes(range(256)) * 4096  # 1 MiB
STUB_IP = "127.0.0.63"


@dataclass
class Seen:
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def make_handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, *, close: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            if close:  # drop the connection without saying so: the client believes it is reusable
                self.wfile.flush()
                self.close_connection = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.requests.append((self.command, self.path, dict(self.headers.items()), body))
            if self.path.endswith("/ji/files/1"):
                self._answer(200, BIG)
            elif self.path.endswith("/ji/files/2"):
                self._answer(404, b'{"userReadableMessage": "No deliverable of ID 2", "errorCode": 1}')
            elif self.path.endswith("/q"):
                if self.headers.get("Authorization") == "Basic YWRtaW46d3Jvbmc=":  # admin:wrong
                    self._answer(401, b'{"userReadableMessage": "bad credentials", "errorCode": 10}')
                else:
                    self._answer(200, b'[{"id": 1, "name": "DEFAULT"}]', close="drop" in self.path)
            else:
                self._answer(200, b"[]")

        do_GET = do_POST = do_DELETE = _handle

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    server = ThreadingHTTPServer((STUB_IP, 0), make_handler(seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{STUB_IP}:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_sync_client_sends_json_accept_and_credentials(stub: tuple[str, Seen]) -> None:
    url, seen = stub
    with JqmClient(url, auth=BasicAuth("admin", "pw")) as jqm:
        assert [q.name for q in jqm.queues()] == ["DEFAULT"]
    method, path, headers, _ = seen.requests[-1]
    assert (method, path) == ("GET", "/ws/client/q")
    assert headers["Accept"] == "application/json" and headers["Authorization"] == "Basic YWRtaW46cHc="
    with JqmClient(url, auth=BasicAuth("admin", "wrong")) as jqm, pytest.raises(AuthenticationError):
        jqm.queues()


async def test_async_client_sends_json_accept_and_credentials(stub: tuple[str, Seen]) -> None:
    url, seen = stub
    async with AsyncJqmClient(url, auth=BearerToken("tok")) as jqm:
        assert [q.name for q in await jqm.queues()] == ["DEFAULT"]
    headers = seen.requests[-1][2]
    assert headers["Accept"] == "application/json" and headers["Authorization"] == "Bearer tok"
    async with AsyncJqmClient(url, auth=BasicAuth("admin", "wrong")) as jqm:
        with pytest.raises(AuthenticationError, match="bad credentials"):
            await jqm.queues()


def test_a_base_path_prefixes_every_request(stub: tuple[str, Seen]) -> None:
    url, seen = stub
    with JqmClient(url + "/some/prefix/") as jqm:
        jqm.jobs()
    assert seen.requests[-1][1] == "/some/prefix/ws/client/ji"


def test_downloads_stream_and_errors_are_read(stub: tuple[str, Seen]) -> None:
    url, _ = stub
    transport = HttpTransport(url)
    chunks: list[bytes] = []
    response = transport.send(HttpRequest(method="GET", path="/ws/client/ji/files/1"), sink=chunks.append)
    assert response.status == 200 and response.body == b"" and b"".join(chunks) == BIG and len(chunks) > 1
    with JqmClient(transport=transport) as jqm, pytest.raises(Exception, match="No deliverable of ID 2"):
        jqm.deliverable_content(2)


def test_a_failing_sink_raises_its_own_error(stub: tuple[str, Seen]) -> None:
    url, _ = stub

    def full_disk(_: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as caught:
        HttpTransport(url).send(HttpRequest(method="GET", path="/ws/client/ji/files/1"), sink=full_disk)
    assert not isinstance(caught.value, JqmConnectionError)


def test_a_connection_the_server_dropped_is_replaced_once(stub: tuple[str, Seen]) -> None:
    url, seen = stub
    transport = HttpTransport(url)
    with JqmClient(transport=transport) as jqm:
        first = HttpRequest(method="GET", path="/drop/ws/client/q")  # answered, then the connection dropped
        assert transport.send(first).status == 200
        assert [q.name for q in jqm.queues()] == ["DEFAULT"]  # tried on the dropped connection, then a new one
    assert len(seen.requests) == 2


async def test_async_download_to_a_file(stub: tuple[str, Seen], tmp_path: Path) -> None:
    url, _ = stub
    target = tmp_path / "big.bin"
    async with AsyncJqmClient(transport=AiohttpTransport(url)) as jqm:
        assert await jqm.download_deliverable(1, target) == len(BIG)
    assert target.read_bytes() == BIG


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind((STUB_IP, 0))
        port = s.getsockname()[1]
    with pytest.raises(JqmConnectionError, match=f"GET /ws/client/q on http://{STUB_IP}:{port}"):
        HttpTransport(f"http://{STUB_IP}:{port}").send(HttpRequest(method="GET", path="/ws/client/q"))


@pytest.mark.parametrize("bad", ["ftp://h", "http://", "http://u:p@h", "http://h/?q=1", "h:1789"])
def test_base_urls_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="node URL"):
        split_base_url(bad)
