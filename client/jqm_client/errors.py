"""What the client raises. Every exception is a :class:`JqmError`.

Answers carrying JQM's ``errorDto`` become :class:`JqmApiError`, with one subclass per status a
caller handles differently (400, 401, 403, 404, 409, 410, 5xx). Failing to reach a node at all is
:class:`JqmConnectionError`; an answer that is not what the API promises is :class:`JqmProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from jqm_client.models import State


class JqmError(Exception):
    """Base class of every error of this library."""


class JqmConnectionError(JqmError):
    """The node could not be reached, or did not answer in time."""


class JqmProtocolError(JqmError):
    """The node answered something the client API does not define (not JSON, a wrong shape...)."""


@dataclass(frozen=True, kw_only=True)
class ErrorDto:
    """Upstream's ``errorDto`` body."""

    user_readable_message: str
    developer_message: str | None = None
    error_code: int | None = None
    http_status: int | None = None


class JqmApiError(JqmError):
    """The API refused the call: ``status`` is the HTTP status, ``code`` upstream's errorDto code."""

    def __init__(self, *, status: int, error: ErrorDto) -> None:
        super().__init__(error.user_readable_message)
        self.status = status
        self.error = error

    @property
    def code(self) -> int | None:
        return self.error.error_code

    @property
    def user_readable_message(self) -> str:
        return self.error.user_readable_message

    @property
    def developer_message(self) -> str | None:
        return self.error.developer_message

    def __str__(self) -> str:
        code = f", code {self.code}" if self.code is not None else ""
        return f"{self.user_readable_message} (HTTP {self.status}{code})"


class BadRequestError(JqmApiError):
    """400: the request was wrong (invalid parameters, unknown application, a job in the wrong state)."""


class AuthenticationError(JqmApiError):
    """401: no credentials, or wrong ones."""


class PermissionDeniedError(JqmApiError):
    """403: the user is known but lacks the permission for this call."""


class NotFoundError(JqmApiError):
    """404: no such job, deliverable, queue or job definition."""


class ConflictError(JqmApiError):
    """409: the node cannot do this now (e.g. undrain of a stopping node)."""


class GoneError(JqmApiError):
    """410: the job belonged to a node that has left the cluster and its history is no longer kept."""


class ServerError(JqmApiError):
    """5xx: the node failed, or could not reach the node owning the job, or is not taking work."""


_BY_STATUS: dict[int, type[JqmApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
}


def api_error_class(status: int) -> type[JqmApiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, JqmApiError)


class JobTimeoutError(JqmError, TimeoutError):
    """:meth:`JqmClient.wait` gave up: the job was still ``state`` after ``timeout`` seconds."""

    def __init__(self, *, job_id: int, state: State, timeout: float) -> None:
        super().__init__(f"job {job_id} is still {state} after {timeout:g}s")
        self.job_id = job_id
        self.state = state
        self.timeout = timeout
