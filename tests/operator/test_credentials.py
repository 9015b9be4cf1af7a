"""The auth Secret's values: random, and the password hashed in exactly the contract's format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import subprocess
import sys

import pytest
import yaml

from jqm_operator.credentials import PBKDF2_ITERATIONS, hash_password, missing_values, users_file

FORMAT = re.compile(
    r"^pbkdf2-sha256\$(?P<iterations>[1-9][0-9]*)\$(?P<salt>[A-Za-z0-9+/]+=*)\$(?P<hash>[A-Za-z0-9+/]+=*)$"
)


def verifies(password: str, stored: str) -> bool:
    """An independent check of ``pbkdf2-sha256$ITER$SALT_B64$HASH_B64`` (standard base64 with padding,
    PBKDF2-HMAC-SHA256, 32-byte hash), written from the contract, not from the operator's code."""
    match = FORMAT.match(stored)
    assert match, f"not in the contract's format: {stored!r}"
    salt = base64.b64decode(match["salt"], validate=True)
    expected = base64.b64decode(match["hash"], validate=True)
    assert len(expected) == 32
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(match["iterations"]), 32)
    return hmac.compare_digest(derived, expected)


def test_hash_is_in_the_contract_format_and_verifies_independently() -> None:
    stored = hash_password("s3cret", iterations=1000)
    assert verifies("s3cret", stored)
    assert not verifies("s3cret ", stored)
    match = FORMAT.match(stored)
    assert match and match["iterations"] == "1000" and len(base64.b64decode(match["salt"])) == 16
    assert hash_password("s3cret", iterations=1000) != stored  # a fresh salt every time


def test_default_iterations_follow_owasp() -> None:
    match = FORMAT.match(hash_password("x"))
    assert match and int(match["iterations"]) == PBKDF2_ITERATIONS >= 600_000


def test_a_known_vector_matches_pbkdf2_as_published() -> None:
    # RFC 7914 section 11, PBKDF2-HMAC-SHA256 (c=1, dkLen=64): first 32 bytes.
    stored = hash_password("passwd", salt=b"salt", iterations=1)
    expected = bytes.fromhex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
    assert stored == f"pbkdf2-sha256$1$c2FsdA==${base64.b64encode(expected).decode()}"


def test_users_file_holds_the_admin_with_a_hash_of_its_password() -> None:
    text = users_file(password="pw", cluster="demo")
    document = yaml.safe_load(text)
    assert [u["name"] for u in document["users"]] == ["admin"]
    admin = document["users"][0]
    assert admin["roles"] == ["administrator"] and set(admin) == {"name", "passwordHash", "roles"}
    assert verifies("pw", admin["passwordHash"])
    assert "pw\n" not in text and ": pw" not in text


def test_a_new_secret_gets_every_key() -> None:
    values = missing_values(existing={}, cluster="demo")
    assert set(values) == {"admin-password", "users.yaml", "cluster-secret", "management-token"}
    assert verifies(values["admin-password"], yaml.safe_load(values["users.yaml"])["users"][0]["passwordHash"])
    again = missing_values(existing={}, cluster="demo")
    assert all(values[k] != again[k] for k in ("admin-password", "cluster-secret", "management-token"))


def test_existing_values_are_never_regenerated() -> None:
    complete = missing_values(existing={}, cluster="demo")
    assert missing_values(existing=complete, cluster="demo") == {}
    without_users = {k: v for k, v in complete.items() if k != "users.yaml"}
    added = missing_values(existing=without_users, cluster="demo")
    assert set(added) == {"users.yaml"}
    assert verifies(complete["admin-password"], yaml.safe_load(added["users.yaml"])["users"][0]["passwordHash"])
    without_password = {k: v for k, v in complete.items() if k != "admin-password"}
    assert missing_values(existing=without_password, cluster="demo") == {}  # would not match the users file


@pytest.mark.integration
def test_the_nodes_hash_password_command_writes_the_same_format() -> None:
    pytest.importorskip("jqm_node", reason="the node package is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "jqm_node", "hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    unknown = ("unrecognized arguments: hash-password", "invalid choice: 'hash-password'")
    if result.returncode != 0 and any(text in result.stderr for text in unknown):
        pytest.skip("this jqm-node has no hash-password command yet")
    assert result.returncode == 0, result.stderr
    assert verifies("s3cret", result.stdout.strip())
