import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jqm_localcluster import lbcheck


@pytest.fixture
def two_backends() -> Iterator[str]:
    """One loopback server answering as two backends in turn, like a round-robin load balancer."""
    turns = itertools.cycle(["10.244.0.2", "10.244.0.3"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"Pollers are polling - IP: {next(turns)}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def test_every_backend_seen(two_backends: str) -> None:
    assert lbcheck.distinct_backends(two_backends, 2, timeout=30) == {"10.244.0.2", "10.244.0.3"}
    assert lbcheck.main([two_backends, "2"]) == 0


def test_missing_backends_fail_after_the_timeout(two_backends: str) -> None:
    assert lbcheck.main([two_backends, "3", "--timeout", "0.5"]) == 1
