"""Password and token hashes in the formats the users file (and the operator) use.

``passwordHash``: ``pbkdf2-sha256$ITERATIONS$SALT$HASH``, salt and hash in standard base64 with
padding, HASH the 32-byte PBKDF2-HMAC-SHA256 of the UTF-8 password. ``tokenHash``:
``sha256$HEX`` of a bearer token (tokens are long random strings: one fast hash is enough).
Every comparison of secrets is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

PBKDF2_PREFIX = "pbkdf2-sha256"
TOKEN_PREFIX = "sha256"
DEFAULT_ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
MAX_ITERATIONS = 10_000_000
HASH_BYTES = 32
SALT_BYTES = 16


class HashFormatError(ValueError):
    """A stored hash that does not follow the documented format."""


@dataclass(frozen=True, slots=True)
class PasswordHash:
    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        parts = text.split("$")
        if len(parts) != 4 or parts[0] != PBKDF2_PREFIX:
            raise HashFormatError(f"expected {PBKDF2_PREFIX}$ITERATIONS$SALT_BASE64$HASH_BASE64")
        _, iterations, salt, digest = parts
        if not iterations.isdigit() or not 1 <= int(iterations) <= MAX_ITERATIONS:
            raise HashFormatError(f"the iteration count must be a number between 1 and {MAX_ITERATIONS}")
        try:
            salt_bytes = base64.b64decode(salt, validate=True)
            digest_bytes = base64.b64decode(digest, validate=True)
        except binascii.Error:
            raise HashFormatError("the salt and the hash must be standard base64 (with padding)") from None
        if len(digest_bytes) != HASH_BYTES or not salt_bytes:
            raise HashFormatError(f"the hash must be {HASH_BYTES} bytes and the salt not empty")
        return cls(int(iterations), salt_bytes, digest_bytes)

    def matches(self, password: str) -> bool:
        """Runs the whole PBKDF2 (slow on purpose): call it off the event loop."""
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations, HASH_BYTES)
        return hmac.compare_digest(candidate, self.digest)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, HASH_BYTES)
    return f"{PBKDF2_PREFIX}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


@dataclass(frozen=True, slots=True)
class TokenHash:
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> TokenHash:
        prefix, _, hex_digest = text.partition("$")
        if prefix != TOKEN_PREFIX:
            raise HashFormatError(f"expected {TOKEN_PREFIX}$HEX (the hex SHA-256 of the token)")
        try:
            digest = bytes.fromhex(hex_digest)
        except ValueError:
            raise HashFormatError("the token hash must be 64 hexadecimal characters") from None
        if len(digest) != hashlib.sha256().digest_size:
            raise HashFormatError("the token hash must be 64 hexadecimal characters")
        return cls(digest)

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self.digest)


def hash_token(token: str) -> str:
    return f"{TOKEN_PREFIX}${hashlib.sha256(token.encode()).hexdigest()}"
