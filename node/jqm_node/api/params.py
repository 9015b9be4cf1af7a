"""Parsing of request values, with errors callers can act on (HTTP 400, never 500)."""

from __future__ import annotations

from jqm_node.errors import BadRequestError


def parse_id(raw: str | None, *, name: str = "id") -> int:
    if raw is None or raw == "":
        raise BadRequestError(f"the parameter '{name}' is required")
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"the parameter '{name}' must be a number, got {raw!r}") from None
    if value < 0:
        raise BadRequestError(f"the parameter '{name}' must not be negative, got {value}")
    return value


def parse_int(raw: str | None, *, name: str, default: int | None = None) -> int:
    if raw is None or raw == "":
        if default is None:
            raise BadRequestError(f"the parameter '{name}' is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequestError(f"the parameter '{name}' must be an integer, got {raw!r}") from None
