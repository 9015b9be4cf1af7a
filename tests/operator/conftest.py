"""Fixtures shared by the operator tests."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.operator.standin import StandInNode


@pytest.fixture
def stand_in_node() -> Iterator[ThreadingHTTPServer]:
    """A stand-in node on a random 127.0.x.y address, management port 1790, past a 20-ID threshold, one job
    running; it accepts drains with ``server.token`` (set it to the cluster's management token)."""
    ip = f"127.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
    server = ThreadingHTTPServer((ip, 1790), StandInNode)
    server.state = {
        "ip": ip,
        "name": "n",
        "idsUsed": 25,
        "idCapacity": 1_000_000,
        "idsRemaining": 999_975,
        "draining": False,
        "drainReason": None,
        "stopping": False,
        "running": 1,
        "queued": 0,
        "handovers": [],
    }
    server.drains = 0
    server.posts = []
    server.token = "test-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
