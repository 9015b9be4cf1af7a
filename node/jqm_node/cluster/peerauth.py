"""Signatures of node-to-node requests (forwarding, fan-out, bulk splits, handover).

Every node-to-node request carries three headers:

- ``X-Jqm-Forwarded-By: <sender ip>``
- ``X-Jqm-User: <name the entry node authenticated>`` (empty for calls a node makes on its own)
- ``X-Jqm-Peer-Signature: v1:<unix seconds>:<hex HMAC-SHA256>`` of
  ``"v1\\n{ts}\\n{METHOD}\\n{path and query as sent}\\n{sender ip}\\n{user}"`` under the cluster secret.

The receiver recomputes the HMAC over the request line it received and accepts the request only if
it matches (constant-time) and its time is within :data:`MAX_SKEW_SECONDS` of its own clock. The body
is not signed: the signature proves the call comes from a node of the cluster, and is meant to travel
inside the cluster network (or TLS, see docs/NODE.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

FORWARDED_BY = "X-Jqm-Forwarded-By"
USER = "X-Jqm-User"
SIGNATURE = "X-Jqm-Peer-Signature"
VERSION = "v1"
MAX_SKEW_SECONDS = 60


class PeerSignatureError(Exception):
    """A node-to-node request whose signature is missing, malformed, expired or wrong."""


def _mac(secret: bytes, *, timestamp: int, method: str, path_qs: str, sender: str, user: str) -> str:
    message = f"{VERSION}\n{timestamp}\n{method.upper()}\n{path_qs}\n{sender}\n{user}"
    return hmac.new(secret, message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def sign(
    secret: bytes, *, method: str, path_qs: str, sender: str, user: str = "", now: float | None = None
) -> dict[str, str]:
    """The three headers of a signed request from ``sender`` acting for ``user``."""
    timestamp = int(time.time() if now is None else now)
    mac = _mac(secret, timestamp=timestamp, method=method, path_qs=path_qs, sender=sender, user=user)
    return {FORWARDED_BY: sender, USER: user, SIGNATURE: f"{VERSION}:{timestamp}:{mac}"}


@dataclass(frozen=True, slots=True)
class PeerCall:
    sender: str
    user: str


def verify(
    secret: bytes, *, method: str, path_qs: str, headers: Mapping[str, str], now: float | None = None
) -> PeerCall:
    """Who sent a signed request and for whom; raises :class:`PeerSignatureError` otherwise."""
    sender = headers.get(FORWARDED_BY)
    signature = headers.get(SIGNATURE)
    if not sender or not signature:
        raise PeerSignatureError("node-to-node call without a signature")
    version, _, rest = signature.partition(":")
    stamp, _, mac = rest.partition(":")
    if version != VERSION or not stamp.isdigit() or not mac:
        raise PeerSignatureError("malformed node-to-node signature")
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_SKEW_SECONDS:
        raise PeerSignatureError(f"node-to-node signature expired or from the future (skew over {MAX_SKEW_SECONDS}s)")
    user = headers.get(USER, "")
    expected = _mac(secret, timestamp=timestamp, method=method, path_qs=path_qs, sender=sender, user=user)
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "surrogateescape")):
        raise PeerSignatureError("invalid node-to-node signature")
    return PeerCall(sender=sender, user=user)
