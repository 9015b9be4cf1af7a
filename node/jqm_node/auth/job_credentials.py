"""The credential each job gets (``JQM_API_LOGIN`` / ``JQM_API_PASSWORD``), valid only while it runs.

Upstream gives every job one shared internal administrator account. Here each job gets its own login
(``jqm-job-<id>``) and a random 256-bit password, issued when its process starts and revoked the
moment it ends, with only what a job needs (:data:`~jqm_node.auth.permissions.JOB_PERMISSIONS`):
enqueue (children), read job instances, their logs and files. Being random and long, the password
is checked with one SHA-256 and a constant-time comparison, never a slow hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from jqm_node.auth.permissions import JOB_PERMISSIONS
from jqm_node.auth.principal import Principal
from jqm_node.auth.users import JOB_LOGIN_PREFIX


class JobCredentials:
    def __init__(self) -> None:
        self._active: dict[str, tuple[bytes, Principal]] = {}

    @staticmethod
    def login_of(job_id: int) -> str:
        return f"{JOB_LOGIN_PREFIX}{job_id}"

    def issue(self, job_id: int) -> tuple[str, str]:
        """A new (login, password) for the job; replaces any earlier one of the same job."""
        login, password = self.login_of(job_id), secrets.token_urlsafe(32)
        self._active[login] = (hashlib.sha256(password.encode()).digest(), Principal(login, JOB_PERMISSIONS))
        return login, password

    def revoke(self, job_id: int) -> None:
        self._active.pop(self.login_of(job_id), None)

    def check(self, login: str, password: str) -> Principal | None:
        """The job's principal if ``login``/``password`` is the credential of a running job."""
        entry = self._active.get(login)
        if entry is None:
            return None
        digest, principal = entry
        return principal if hmac.compare_digest(hashlib.sha256(password.encode()).digest(), digest) else None
