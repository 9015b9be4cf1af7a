"""The users files (``JQM_USERS``): loading, merging, validation, and reloading when they change.

Format (YAML)::

    users:
      - name: admin
        passwordHash: "pbkdf2-sha256$600000$<salt>$<hash>"
        roles: [administrator]
      - name: ci-bot
        tokenHash: "sha256$<hex>"            # a bearer token, instead of or beside a password
        roles: [client]
    roles:                                   # optional: roles beside upstream's built-in ones
      - name: auditor
        permissions: ["job_instance:read", "logs:read"]

Several files are merged in the order given: a user or role defined again by a later file replaces
the earlier one (so a user's own Secret can redefine the operator's ``admin``). Built-in role names
cannot be redefined. A file is reloaded when the file it resolves to, its size or its modification
time changes: Kubernetes updates a mounted Secret by swapping a ``..data`` symlink, which changes the
resolved path. A reload that fails keeps the users loaded before and logs why (never a secret).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from jqm_node.auth.passwords import HashFormatError, PasswordHash, TokenHash
from jqm_node.auth.permissions import BUILTIN_ROLES, Permission
from jqm_node.auth.principal import Principal

log = logging.getLogger(__name__)

JOB_LOGIN_PREFIX = "jqm-job-"
"""Reserved for the credentials the node gives its jobs: no user of a file may start with it."""
MAX_NAME_LENGTH = 100
CHECK_INTERVAL = 1.0
H = TypeVar("H", PasswordHash, TokenHash)

_FILE_KEYS = {"users", "roles"}
_USER_KEYS = {"name", "passwordHash", "tokenHash", "roles", "description"}
_ROLE_KEYS = {"name", "permissions", "description"}


class UsersError(Exception):
    """A users file that cannot be used, with the file, the key and what is wrong."""

    def __init__(self, source: str | Path, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    password: PasswordHash | None
    token: TokenHash | None
    principal: Principal


@dataclass(slots=True)
class UserTable:
    users: dict[str, User] = field(default_factory=dict)

    @property
    def token_holders(self) -> list[tuple[TokenHash, User]]:
        return [(u.token, u) for u in self.users.values() if u.token is not None]


@dataclass(slots=True)
class _RawUser:
    source: Path
    key: str
    name: str
    password: PasswordHash | None
    token: TokenHash | None
    roles: list[str]


def _mapping(source: Path, key: str, value: Any, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UsersError(source, key, f"expected a mapping, got {type(value).__name__}")
    for name in value:
        if name not in known:
            raise UsersError(source, f"{key}.{name}", f"unknown key (known: {', '.join(sorted(known))})")
    return value


def _list(source: Path, key: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UsersError(source, key, f"expected a list, got {type(value).__name__}")
    return value


def _text(source: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UsersError(source, key, "expected a non-empty string")
    return value


def _check_name(source: Path, key: str, name: str) -> str:
    if len(name) > MAX_NAME_LENGTH or any(c == ":" or not " " <= c <= "~" for c in name):
        raise UsersError(source, key, f"a user name is 1 to {MAX_NAME_LENGTH} printable ASCII characters, without ':'")
    if name.startswith(JOB_LOGIN_PREFIX):
        raise UsersError(source, key, f"names starting with {JOB_LOGIN_PREFIX!r} are reserved for job credentials")
    return name


def _hash(path: Path, key: str, value: Any, parse: Callable[[str], H]) -> H | None:
    if value is None:
        return None
    try:
        return parse(_text(path, key, value))
    except HashFormatError as e:
        raise UsersError(path, key, str(e)) from None


def _read_file(path: Path) -> tuple[list[_RawUser], dict[str, frozenset[Permission]]]:
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
    except OSError as e:
        raise UsersError(path, "(file)", f"cannot read: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise UsersError(path, "(document)", f"invalid YAML: {e}") from None
    root = _mapping(path, "(document)", document or {}, _FILE_KEYS)
    roles: dict[str, frozenset[Permission]] = {}
    for i, item in enumerate(_list(path, "roles", root.get("roles"))):
        key = f"roles[{i}]"
        role = _mapping(path, key, item, _ROLE_KEYS)
        name = _text(path, f"{key}.name", role.get("name"))
        if name in BUILTIN_ROLES:
            raise UsersError(path, f"{key}.name", f"{name!r} is a built-in role and cannot be redefined")
        if name in roles:
            raise UsersError(path, f"{key}.name", f"role {name!r} is defined twice in this file")
        try:
            roles[name] = frozenset(
                Permission.parse(_text(path, f"{key}.permissions", p))
                for p in _list(path, f"{key}.permissions", role.get("permissions"))
            )
        except ValueError as e:
            raise UsersError(path, f"{key}.permissions", str(e)) from None
    users: list[_RawUser] = []
    for i, item in enumerate(_list(path, "users", root.get("users"))):
        key = f"users[{i}]"
        entry = _mapping(path, key, item, _USER_KEYS)
        name = _check_name(path, f"{key}.name", _text(path, f"{key}.name", entry.get("name")))
        if any(u.name == name for u in users):
            raise UsersError(path, f"{key}.name", f"user {name!r} is defined twice in this file")
        password = _hash(path, f"{key}.passwordHash", entry.get("passwordHash"), PasswordHash.parse)
        token = _hash(path, f"{key}.tokenHash", entry.get("tokenHash"), TokenHash.parse)
        if password is None and token is None:
            raise UsersError(path, key, "a user needs a passwordHash, a tokenHash or both")
        role_names = [_text(path, f"{key}.roles", r) for r in _list(path, f"{key}.roles", entry.get("roles"))]
        users.append(_RawUser(path, key, name, password, token, role_names))
    return users, roles


def load_users(paths: Sequence[Path]) -> UserTable:
    """Reads and merges the users files; raises :class:`UsersError` naming the first problem."""
    raw: dict[str, _RawUser] = {}
    roles: dict[str, frozenset[Permission]] = dict(BUILTIN_ROLES)
    for path in paths:
        users, file_roles = _read_file(path)
        roles.update(file_roles)
        for user in users:
            if user.name in raw:
                log.info("user %r of %s replaces the one of %s", user.name, path, raw[user.name].source)
            raw[user.name] = user
    table = UserTable()
    for user in raw.values():
        permissions: set[Permission] = set()
        for role in user.roles:
            if role not in roles:
                raise UsersError(user.source, f"{user.key}.roles", f"no role named {role!r}")
            permissions |= roles[role]
        principal = Principal(user.name, frozenset(permissions))
        table.users[user.name] = User(user.name, user.password, user.token, principal)
    return table


Fingerprint = tuple[tuple[str, int, int, int], ...]


def _fingerprint(paths: Sequence[Path]) -> Fingerprint:
    prints = []
    for path in paths:
        try:
            real = os.path.realpath(path)
            stat = os.stat(real)
        except OSError:
            prints.append((str(path), -1, -1, -1))
            continue
        prints.append((real, stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(prints)


class UsersSource:
    """The current users of a set of files, reloaded (at most once a second) when a file changes.

    ``generation`` grows at each successful reload: caches of verified credentials compare it.
    """

    def __init__(self, paths: Sequence[Path], *, check_interval: float = CHECK_INTERVAL) -> None:
        self.paths = tuple(paths)
        self._check_interval = check_interval
        self._fingerprint = _fingerprint(self.paths)
        self._table = load_users(self.paths)
        self._next_check = time.monotonic() + check_interval
        self._failed_fingerprint: Fingerprint | None = None
        self.generation = 0

    @property
    def table(self) -> UserTable:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._check_interval
            self._reload_if_changed()
        return self._table

    def _reload_if_changed(self) -> None:
        fingerprint = _fingerprint(self.paths)
        if fingerprint == self._fingerprint or fingerprint == self._failed_fingerprint:
            return
        try:
            table = load_users(self.paths)
        except UsersError as e:
            self._failed_fingerprint = fingerprint
            log.error("users files changed but cannot be used, keeping the users loaded before: %s", e)
            return
        self._table, self._fingerprint, self._failed_fingerprint = table, fingerprint, None
        self.generation += 1
        log.info("users files reloaded: %d user(s)", len(table.users))
