"""Rendering: aligned tables as kubectl prints them, JSON and YAML documents, ages and usage bars."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import yaml

FORMATS = ("table", "json", "yaml")
BAR_WIDTH = 20


def plain(value: Any) -> Any:
    """JSON-ready data from models: dataclasses as dicts, enums by value, dates in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def document(data: Any, fmt: str) -> str:
    """``data`` as a JSON or YAML document (ending with a newline)."""
    if fmt == "json":
        return json.dumps(plain(data), indent=2, ensure_ascii=False) + "\n"
    return str(yaml.safe_dump(plain(data), sort_keys=False, allow_unicode=True))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns separated by three spaces, as kubectl does; ``None`` shows as ``<none>``."""
    cells = [[str(h) for h in headers]] + [["<none>" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def usage_bar(used: int, capacity: int, width: int = BAR_WIDTH) -> str:
    """``[#####---------------]  25.0%`` for the share of IDs a node has handed out."""
    if capacity <= 0:
        return "[" + "?" * width + "]      ?"
    share = min(max(used / capacity, 0.0), 1.0)
    filled = round(share * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {share * 100:5.1f}%"


def duration(delta: timedelta) -> str:
    """Like kubectl's ages: 42s, 5m3s, 3h12m, 4d5h."""
    seconds = max(int(delta.total_seconds()), 0)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days}d{hrs}h" if hrs else f"{days}d"
    if hours:
        return f"{hours}h{mins}m" if mins else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def age(when: datetime | str | None, now: datetime | None = None) -> str | None:
    """Time since ``when`` (a datetime or an RFC 3339 string)."""
    if when is None or when == "":
        return None
    moment = datetime.fromisoformat(when.replace("Z", "+00:00")) if isinstance(when, str) else when
    return duration((now or datetime.now(UTC)) - moment)
