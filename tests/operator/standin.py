"""A stand-in for a node's management API (port 1790) on a loopback address, for tests that need real HTTP.

GET answers ``/node/status`` from ``server.state``. POST ``/node/drain`` and ``/node/undrain`` check the
bearer token against ``server.token`` (401 otherwise), as the node does, and record what they received.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class StandInNode(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        self._answer(200, self.server.state)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        self.server.posts.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._answer(401, {"errorCode": 401, "userMessage": "management token missing or wrong"})
            return
        if self.path == "/node/drain":
            self.server.state |= {"draining": True, "drainReason": body.get("reason")}
            self.server.drains += 1
        elif self.path == "/node/undrain":
            self.server.state |= {"draining": False, "drainReason": None}
        self._answer(202 if self.path == "/node/drain" else 200, self.server.state)

    def _answer(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass
