"""Credentials: HTTP Basic (a user and a password) or a bearer token.

Secrets never appear in ``repr`` or ``str``, so logging a client or an exception cannot leak them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BasicAuth:
    user: str
    password: str = field(repr=False)

    def header(self) -> str:
        """The ``Authorization`` header value (RFC 7617, UTF-8)."""
        if ":" in self.user:
            raise ValueError("a Basic auth user name cannot contain ':'")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True)
class BearerToken:
    token: str = field(repr=False)

    def header(self) -> str:
        if not self.token or any(c.isspace() for c in self.token):
            raise ValueError("a bearer token must be non-empty and contain no whitespace")
        return f"Bearer {self.token}"


Auth = BasicAuth | BearerToken
