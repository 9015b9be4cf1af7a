"""The sans-I/O core: a :class:`Call` is one API request plus how to read its answer.

:class:`ClientProtocol` adds what every request carries (``Accept: application/json``, credentials,
a User-Agent) and turns an answer into a value or an exception. Both clients are this plus a transport.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from jqm_client.auth import Auth
from jqm_client.codec import error_from_json
from jqm_client.errors import ErrorDto, JqmApiError, JqmProtocolError, api_error_class
from jqm_client.http import HttpRequest, HttpResponse, is_success

T = TypeVar("T")

JSON = "application/json"
USER_AGENT = "jqm-client-python"
_ERROR_TEXT_LIMIT = 300


@dataclass(frozen=True)
class Call(Generic[T]):
    """``request`` without credentials; ``parse`` reads the answer when its status is in ``ok``
    (default: any 2xx); any other status raises the matching :class:`JqmApiError`."""

    request: HttpRequest
    parse: Callable[[HttpResponse], T]
    ok: frozenset[int] = field(default=frozenset())

    def accepts(self, status: int) -> bool:
        return status in self.ok if self.ok else is_success(status)


def json_body(response: HttpResponse) -> Any:
    try:
        return json.loads(response.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        start = response.body[:80].decode("utf-8", "replace")
        raise JqmProtocolError(f"expected a JSON answer (HTTP {response.status}), got {start!r}: {e}") from None


def error_for(response: HttpResponse) -> JqmApiError:
    """The exception for an error answer: its errorDto, or failing that its text, by status."""
    dto = None
    if response.body:
        try:
            dto = error_from_json(json.loads(response.body))
        except (UnicodeDecodeError, json.JSONDecodeError):
            dto = None
    if dto is None:
        text = response.body.decode("utf-8", "replace").strip()[:_ERROR_TEXT_LIMIT]
        dto = ErrorDto(user_readable_message=text or f"HTTP {response.status} without explanation")
    return api_error_class(response.status)(status=response.status, error=dto)


class ClientProtocol:
    """What both clients share: request preparation and answer checking."""

    def __init__(self, *, auth: Auth | None = None, user_agent: str = USER_AGENT) -> None:
        self._auth = auth
        self._user_agent = user_agent

    def __repr__(self) -> str:
        return f"ClientProtocol(auth={self._auth!r})"

    def prepare(self, request: HttpRequest) -> HttpRequest:
        headers = {"Accept": JSON, "User-Agent": self._user_agent, **request.headers}
        if self._auth is not None:
            headers["Authorization"] = self._auth.header()
        return replace(request, headers=headers)

    def finish(self, call: Call[T], response: HttpResponse) -> T:
        if not call.accepts(response.status):
            raise error_for(response)
        return call.parse(response)
