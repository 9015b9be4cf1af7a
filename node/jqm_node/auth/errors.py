"""The refusals of authentication and authorization, as JQM errors (rendered as errorDto)."""

from http import HTTPStatus

from jqm_node.errors import JqmError


class AuthenticationRequiredError(JqmError):
    """No credential, or one that is not valid (401, with a ``WWW-Authenticate`` challenge)."""

    code = 12
    status = HTTPStatus.UNAUTHORIZED


class PermissionDeniedError(JqmError):
    """A valid credential without the permission the route needs (403)."""

    code = 13
    status = HTTPStatus.FORBIDDEN


class AuthenticationBusyError(JqmError):
    """Too many password verifications waiting: retry shortly (429)."""

    code = 14
    status = HTTPStatus.TOO_MANY_REQUESTS
