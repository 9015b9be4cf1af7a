"""Upstream's permissions and built-in roles.

A permission is a Shiro wildcard permission, ``domain:action`` (``job_instance:read``), compared
as upstream's Apache Shiro compares them: parts separated by ``:``, alternatives by ``,``, ``*``
matches anything, case does not matter, and a held permission with fewer parts implies every
longer one it starts (``job_instance`` implies ``job_instance:read``), while a held permission
with more parts implies a shorter one only if its extra parts are ``*``.

The built-in roles are those upstream creates (``DefaultConfigurationService``), with the same names
and permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Permission:
    parts: tuple[frozenset[str], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Permission:
        cleaned = text.strip().lower()
        if not cleaned:
            raise ValueError("a permission must not be empty")
        parts = []
        for part in cleaned.split(":"):
            alternatives = frozenset(a.strip() for a in part.split(","))
            if not part or "" in alternatives:
                raise ValueError(f"invalid permission {text!r}: empty part")
            parts.append(alternatives)
        return cls(tuple(parts), cleaned)

    def implies(self, wanted: Permission) -> bool:
        """True if holding this permission grants ``wanted``."""
        for index, wanted_part in enumerate(wanted.parts):
            if index >= len(self.parts):
                return True
            held = self.parts[index]
            if WILDCARD not in held and not held >= wanted_part:
                return False
        return all(WILDCARD in held for held in self.parts[len(wanted.parts) :])

    def __str__(self) -> str:
        return self.text


def parse_all(texts: Iterable[str]) -> frozenset[Permission]:
    return frozenset(Permission.parse(t) for t in texts)


ADMINISTRATOR = "administrator"

BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    ADMINISTRATOR: parse_all(["*:*"]),
    "config admin": parse_all(["node:*", "queue:*", "qmapping:*", "jndi:*", "prm:*", "jd:*"]),
    "config viewer": parse_all(["node:read", "queue:read", "qmapping:read", "jndi:read", "prm:read", "jd:read"]),
    "client": parse_all(["node:read", "queue:read", "job_instance:*", "jd:read"]),
    "client power user": parse_all(
        ["node:read", "queue:read", "job_instance:*", "jd:read", "logs:read", "queue_position:create", "files:read"]
    ),
    "client read only": parse_all(["queue:read", "job_instance:read", "logs:read", "files:read"]),
}
"""Upstream's default roles, by name."""

JOB_PERMISSIONS = parse_all(["job_instance:create", "job_instance:read", "logs:read", "files:read"])
"""What a running job's own credential may do: enqueue (children), read job instances, their logs and files."""
