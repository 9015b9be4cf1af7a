"""Verification of the ``Authorization`` header of every request: HTTP Basic or Bearer.

How the enqueue path stays fast: a password is checked with PBKDF2 (hundreds of milliseconds on
purpose) only the first time it is seen. A success is remembered in a bounded LRU cache (1,024
entries) whose key is an HMAC-SHA256, under a random key made at process start, of the credential
as sent (the base64 of ``login:password``): neither the password nor a plain hash of it is ever kept. Later
requests cost one HMAC and a dictionary lookup. A reload of the users files (new ``generation``)
invalidates every cached entry.

How failed attempts cannot exhaust the CPU:

- PBKDF2 never runs on the event loop: it runs in one worker thread (``hashlib`` releases the GIL),
  so verifications never use more than one core and never delay requests already authenticated;
- at most ``max_pending`` (8) distinct credentials wait for that thread; past that a request is
  answered 429 at once (errorDto code 14) instead of queueing work; requests that bring a credential
  already being checked wait for that check (a client opening many connections costs one PBKDF2);
- a failed credential is remembered (same HMAC key, 4,096 entries, 5 minutes, forgotten when the
  users files change): the same wrong password again is refused without hashing;
- an unknown login is hashed against a fixed dummy hash, so that response times do not tell which
  logins exist (it takes its place in the same bounded queue).

Job credentials (``jqm-job-<id>``) and bearer tokens are long random secrets: one SHA-256 and a
constant-time comparison each, no PBKDF2. Nothing here logs a credential.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from jqm_node.auth.errors import AuthenticationBusyError, AuthenticationRequiredError
from jqm_node.auth.job_credentials import JobCredentials
from jqm_node.auth.passwords import DEFAULT_ITERATIONS, HASH_BYTES, PasswordHash
from jqm_node.auth.principal import Principal
from jqm_node.auth.users import JOB_LOGIN_PREFIX, UsersSource, UserTable

PROXIED_AUTHORIZATION = "X-Jqm-Authorization"
"""Where a client puts its JQM credentials when it calls through the Kubernetes API server's proxy: the
API server consumes and removes ``Authorization`` (it logs the Kubernetes user in with it) before it
proxies. Same syntax as ``Authorization``; read only when ``Authorization`` is absent."""


def authorization_of(headers: Mapping[str, str]) -> str | None:
    """The credential a request brings: ``Authorization``, else ``X-Jqm-Authorization``."""
    return headers.get("Authorization") or headers.get(PROXIED_AUTHORIZATION)


CACHE_SIZE = 1024
FAILED_SIZE = 4096
FAILED_SECONDS = 300.0
MAX_PENDING = 8


def _decode(raw: bytes) -> str:
    """UTF-8, or ISO-8859-1 as the Java client encodes the login (and older clients the password)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class CredentialVerifier:
    def __init__(
        self,
        users: UsersSource,
        jobs: JobCredentials,
        *,
        cache_size: int = CACHE_SIZE,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.users = users
        self.jobs = jobs
        self._hmac = hmac.new(secrets.token_bytes(32), digestmod=hashlib.sha256)
        self._cache: OrderedDict[bytes, tuple[int, Principal]] = OrderedDict()
        self._cache_size = cache_size
        self._failed: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        """HMAC key of a refused credential -> (users generation, until when it is refused without hashing)."""
        self._max_pending = max_pending
        self._checking: dict[bytes, asyncio.Future[bool]] = {}
        """Verifications under way, by credential key: requests with the same credential share one."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jqm-password-check")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a request's ``Authorization`` header; raises 401 (or 429) otherwise."""
        if not authorization:
            raise AuthenticationRequiredError("authentication required: send HTTP Basic credentials or a bearer token")
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return await self._basic(value.strip())
        if scheme == "bearer":
            return self._bearer(value.strip())
        raise AuthenticationRequiredError("unsupported authentication scheme: use Basic or Bearer")

    def _key_of(self, value: str) -> bytes:
        """The cache key of a Basic credential: HMAC-SHA256 of it as sent, under the process's key."""
        mac = self._hmac.copy()  # the keyed state is prepared once: one HMAC costs about a microsecond
        mac.update(value.encode("utf-8", "surrogateescape"))
        return mac.digest()

    async def _basic(self, value: str) -> Principal:
        key = self._key_of(value)
        table = self.users.table  # may reload the users: read it before their generation
        generation = self.users.generation
        cached = self._cache.get(key)
        if cached is not None and cached[0] == generation:
            self._cache.move_to_end(key)
            return cached[1]
        try:
            credential = binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise AuthenticationRequiredError("malformed Basic credentials") from None
        raw_login, colon, raw_password = credential.partition(b":")
        if not colon:
            raise AuthenticationRequiredError("malformed Basic credentials")
        login, password = _decode(raw_login), _decode(raw_password)
        if login.startswith(JOB_LOGIN_PREFIX):  # never cached: revoked the moment the job ends
            principal = self.jobs.check(login, password)
            if principal is None:
                raise AuthenticationRequiredError("invalid credentials (a job's credential is valid while it runs)")
            return principal
        if self._recently_failed(key, generation):
            raise AuthenticationRequiredError("invalid credentials")
        user = table.users.get(login)
        if user is not None and user.password is not None:
            if await self._slow_check(key, user.password, password):
                self._remember(key, generation, user.principal)
                return user.principal
        else:  # as long as a real check, so that response times do not tell which logins exist
            await self._slow_check(key, _dummy_hash(table), password)
        self._failed[key] = (generation, time.monotonic() + FAILED_SECONDS)
        if len(self._failed) > FAILED_SIZE:
            self._failed.popitem(last=False)
        raise AuthenticationRequiredError("invalid credentials")

    def _recently_failed(self, key: bytes, generation: int) -> bool:
        """True if this credential was refused under the same users and not long ago."""
        failed = self._failed.get(key)
        if failed is None:
            return False
        if failed[0] != generation or failed[1] < time.monotonic():
            del self._failed[key]
            return False
        return True

    async def _slow_check(self, key: bytes, stored: PasswordHash, password: str) -> bool:
        """PBKDF2 in the worker thread; a burst of requests with one credential (a client opening many
        connections at once) shares a single verification instead of queueing one each."""
        check = self._checking.get(key)
        if check is None:
            if len(self._checking) >= self._max_pending:
                raise AuthenticationBusyError("too many password verifications in progress: retry in a moment")
            check = asyncio.get_running_loop().run_in_executor(self._pool, stored.matches, password)
            self._checking[key] = check
            check.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(check)  # a caller that goes away does not cancel the others' check

    def _remember(self, key: bytes, generation: int, principal: Principal) -> None:
        self._cache[key] = (generation, principal)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _bearer(self, token: str) -> Principal:
        if not token:
            raise AuthenticationRequiredError("empty bearer token")
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for token_hash, user in self.users.table.token_holders:  # every holder compared: no early exit
            if hmac.compare_digest(digest, token_hash.digest):
                found = user
        if found is None:
            raise AuthenticationRequiredError("invalid bearer token")
        return found.principal


def _dummy_hash(table: UserTable) -> PasswordHash:
    """A hash no password matches, as costly as the users' own (the most iterations among them)."""
    iterations = max((u.password.iterations for u in table.users.values() if u.password), default=DEFAULT_ITERATIONS)
    return PasswordHash(iterations, b"jqm-no-such-user", bytes(HASH_BYTES))
