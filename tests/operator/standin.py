"""A stand-in for a node's management API on a loopback address, for tests that need real HTTP."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class StandInNode(BaseHTTPRequestHandler):
    """Answers /node/status from ``server.state`` and flips ``draining`` on POST /node/drain."""

    server: Any

    def do_GET(self) -> None:
        self._answer(200, self.server.state)

    def do_POST(self) -> None:
        self.server.state["draining"] = True
        self.server.drains += 1
        self._answer(202, self.server.state)

    def _answer(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass
