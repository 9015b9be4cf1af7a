"""Node-to-node signatures: what the contract fixes, byte for byte."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from jqm_node.cluster.peerauth import MAX_SKEW_SECONDS, PeerSignatureError, sign, verify

SECRET = b"a-cluster-secret-of-some-length"
NOW = 1_700_000_000


def test_signature_is_the_contracts_hmac() -> None:
    headers = sign(SECRET, method="post", path_qs="/ws/client/ji/killed?x=1", sender="10.0.0.5", user="ann", now=NOW)
    message = f"v1\n{NOW}\nPOST\n/ws/client/ji/killed?x=1\n10.0.0.5\nann".encode()
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert headers == {
        "X-Jqm-Forwarded-By": "10.0.0.5",
        "X-Jqm-User": "ann",
        "X-Jqm-Peer-Signature": f"v1:{NOW}:{expected}",
    }
    call = verify(SECRET, method="POST", path_qs="/ws/client/ji/killed?x=1", headers=headers, now=NOW + 59)
    assert (call.sender, call.user) == ("10.0.0.5", "ann")


def test_node_originated_calls_have_an_empty_user() -> None:
    headers = sign(SECRET, method="GET", path_qs="/peer/x", sender="10.0.0.5", now=NOW)
    assert verify(SECRET, method="GET", path_qs="/peer/x", headers=headers, now=NOW).user == ""


@pytest.mark.parametrize(
    ("change", "now"),
    [
        ({}, NOW + MAX_SKEW_SECONDS + 1),
        ({}, NOW - MAX_SKEW_SECONDS - 1),
        ({"X-Jqm-User": "admin"}, NOW),
        ({"X-Jqm-Forwarded-By": "10.0.0.6"}, NOW),
        ({"X-Jqm-Peer-Signature": None}, NOW),
        ({"X-Jqm-Forwarded-By": None}, NOW),
        ({"X-Jqm-Peer-Signature": "v2:1:ab"}, NOW),
        ({"X-Jqm-Peer-Signature": "v1:-5:ab"}, NOW),
        ({"X-Jqm-Peer-Signature": "v1:1700000000:é"}, NOW),
    ],
)
def test_tampered_expired_or_missing_signatures_are_refused(change: dict[str, str | None], now: int) -> None:
    headers: dict[str, str] = sign(
        SECRET, method="GET", path_qs="/ws/client/ji/1", sender="10.0.0.5", user="ann", now=NOW
    )
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    with pytest.raises(PeerSignatureError):
        verify(SECRET, method="GET", path_qs="/ws/client/ji/1", headers=headers, now=now)


def test_another_request_or_secret_does_not_verify() -> None:
    headers = sign(SECRET, method="GET", path_qs="/ws/client/ji/1", sender="10.0.0.5", now=NOW)
    for method, path, secret in (("POST", "/ws/client/ji/1", SECRET), ("GET", "/ws/client/ji/2", SECRET),
                                 ("GET", "/ws/client/ji/1", b"another-cluster-secret")):  # fmt: skip
        with pytest.raises(PeerSignatureError):
            verify(secret, method=method, path_qs=path, headers=headers, now=NOW)
