"""The errors of the JQM APIs, with upstream's error codes and HTTP statuses.

Every error a caller can cause is one of these; the web layer turns them into an ``errorDto``.
"""

from http import HTTPStatus


class JqmError(Exception):
    """Base error: ``code`` is upstream's errorDto code, ``status`` the HTTP status."""

    code = 9
    status = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, developer_message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.developer_message = developer_message


class NotFoundError(JqmError):
    """GET on an absent object (upstream code 1)."""

    code = 1
    status = HTTPStatus.NOT_FOUND


class DeleteNotFoundError(JqmError):
    """DELETE on an absent object (upstream code 3)."""

    code = 3
    status = HTTPStatus.NOT_FOUND


class InvalidEnqueueError(JqmError):
    """Invalid enqueue parameters (upstream code 6)."""

    code = 6
    status = HTTPStatus.BAD_REQUEST


class FileNotFoundJqmError(JqmError):
    """A requested file (log, deliverable) does not exist (upstream code 8)."""

    code = 8
    status = HTTPStatus.NOT_FOUND


class BadRequestError(JqmError):
    """Generic caller error (upstream code 10)."""

    code = 10
    status = HTTPStatus.BAD_REQUEST


class UnavailableError(JqmError):
    """The node cannot take the request now: draining, shutting down, out of IDs (code 11)."""

    code = 11
    status = HTTPStatus.SERVICE_UNAVAILABLE


class GoneError(JqmError):
    """The object existed but is gone for good: its node left and its history expired or was never
    handed over (HTTP 410; errorDto code 1 as for an absent object)."""

    code = 1
    status = HTTPStatus.GONE


class FileGoneError(JqmError):
    """A file that is no longer kept anywhere: a deliverable of a handed-over job (HTTP 410, code 8)."""

    code = 8
    status = HTTPStatus.GONE
