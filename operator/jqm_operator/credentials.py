"""The values of a cluster's ``<cluster>-auth`` Secret: generated once, hashed in the node's format.

The operator cannot import the node package (each image ships one package), so the password hash format
of the contract is written here again: ``pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>``,
standard base64 with padding, PBKDF2-HMAC-SHA256, a 32-byte hash. A test checks it with an independent
PBKDF2 computation, another against the node's verifier when the node package is installed.
Nothing here logs or returns a secret in a message.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping

import yaml

from jqm_operator import constants as c

PBKDF2_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256."""
HASH_BYTES = 32
SALT_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None, iterations: int | None = None) -> str:
    """The ``passwordHash`` of a users file for ``password`` (a fresh random salt unless one is given)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    iterations = iterations or PBKDF2_ITERATIONS
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, dklen=HASH_BYTES)
    return f"pbkdf2-sha256${iterations}${_b64(salt)}${_b64(digest)}"


def users_file(*, password: str, cluster: str) -> str:
    """``users.yaml`` with the one administrator the operator creates; the password itself is not in it."""
    document = {"users": [{"name": c.ADMIN_USER, "passwordHash": hash_password(password), "roles": [c.ADMIN_ROLE]}]}
    header = (
        f"# Written once by jqm-operator for JqmCluster {cluster}. The password is in key {c.ADMIN_PASSWORD_KEY}\n"
        "# of this Secret; give more users in the Secret named by spec.auth.usersSecretName.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)


GENERATORS: Mapping[str, Callable[[], str]] = {
    c.ADMIN_PASSWORD_KEY: lambda: secrets.token_urlsafe(24),
    c.CLUSTER_SECRET_KEY: lambda: secrets.token_hex(32),
    c.MANAGEMENT_TOKEN_KEY: lambda: secrets.token_urlsafe(32),
}
"""Every random value of the Secret; ``users.yaml`` derives from the admin password."""


def missing_values(*, existing: Mapping[str, str], cluster: str) -> dict[str, str]:
    """Values for the keys ``existing`` lacks, never a new value for a key it has.

    An empty ``existing`` gives a whole new Secret. ``users.yaml`` is rebuilt only when it is missing and
    the admin password is known; a Secret without its admin password keeps its ``users.yaml`` (delete the
    whole Secret for a new password).
    """
    added = {key: make() for key, make in GENERATORS.items() if not existing.get(key)}
    if c.ADMIN_PASSWORD_KEY in added and existing.get(c.USERS_KEY):
        del added[c.ADMIN_PASSWORD_KEY]  # a new password would not match the users file the nodes read
    if not existing.get(c.USERS_KEY):
        password = existing.get(c.ADMIN_PASSWORD_KEY) or added[c.ADMIN_PASSWORD_KEY]
        added[c.USERS_KEY] = users_file(password=password, cluster=cluster)
    return added
