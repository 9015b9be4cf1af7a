"""Parsing of request values, with errors callers can act on (HTTP 400, never 500)."""

from __future__ import annotations

from jqm_node.errors import BadRequestError

JAVA_LONG_MAX = 2**63 - 1
"""IDs are Java longs upstream: larger numbers are refused, never looked up."""
_MAX_DIGITS = 40


def parse_id(raw: str | None, *, name: str = "id") -> int:
    """A non-negative Java long written in ASCII digits (no sign, space or underscore)."""
    if raw is None or raw == "":
        raise BadRequestError(f"the parameter '{name}' is required")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_DIGITS or int(raw) > JAVA_LONG_MAX:
        raise BadRequestError(
            f"the parameter '{name}' must be a whole number between 0 and {JAVA_LONG_MAX}, got {raw[:_MAX_DIGITS]!r}"
        )
    return int(raw)


def parse_int(raw: str | None, *, name: str, default: int | None = None) -> int:
    if raw is None or raw == "":
        if default is None:
            raise BadRequestError(f"the parameter '{name}' is required")
        return default
    try:
        value = int(raw) if len(raw) <= _MAX_DIGITS else None
    except ValueError:
        value = None
    if value is None or not -JAVA_LONG_MAX - 1 <= value <= JAVA_LONG_MAX:
        raise BadRequestError(f"the parameter '{name}' must be an integer (a Java long), got {raw[:_MAX_DIGITS]!r}")
    return value
