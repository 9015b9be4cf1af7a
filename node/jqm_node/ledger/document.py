"""The ID ledger's content and the only operations on it: reserve IDs, record and find custody.

The ledger has one entry per IPv4 address that ever handed out job IDs, keyed by the dotted address.
An entry is compact JSON::

    {"next": 12800, "custody": [[0, 6400, "10.244.0.7"], [6400, 12800, "10.244.0.9"]]}

``next`` is the high-water mark: every ``n`` below it (ID = ``ip_as_uint32 * 1_000_000 + n``) has
been reserved by some node on that address and is never reserved again. ``custody`` lists ranges
``[lo, hi)`` of ``n`` whose finished history was handed over, and the member that holds it now.
Unknown keys of an entry are kept as they are, so an older node never erases a newer node's fields.

A :class:`LedgerDocument` decodes entries only when they are used: a damaged entry of one address
stops only the operations on that address, with a message naming it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jqm_node.ids import BLOCK_SIZE, ip_from_id, offset_of

log = logging.getLogger(__name__)

MAX_CUSTODY_RANGES = 128
"""Per address; the oldest ranges are dropped beyond this (their IDs then answer "expired")."""

Range = tuple[int, int]


class LedgerError(Exception):
    """The ledger cannot be read or written; the message says which ledger and why."""


@dataclass(slots=True)
class Custody:
    lo: int
    hi: int
    holder: str


@dataclass(slots=True)
class Entry:
    next: int = 0
    custody: list[Custody] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.extra,
            "next": self.next,
            "custody": [[c.lo, c.hi, c.holder] for c in self.custody],
        }


def _decode_entry(ip: str, raw: Any) -> Entry:
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(data, dict):
            raise TypeError("not an object")
        extra = {k: v for k, v in data.items() if k not in ("next", "custody")}
        next_n = data.get("next", 0)
        if isinstance(next_n, bool) or not isinstance(next_n, int) or not 0 <= next_n <= BLOCK_SIZE:
            raise ValueError(f"'next' must be an integer between 0 and {BLOCK_SIZE}")
        custody = []
        for item in data.get("custody") or []:
            lo, hi, holder = item
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi <= BLOCK_SIZE):
                raise ValueError(f"bad custody range {item!r}")
            custody.append(Custody(lo, hi, str(ipaddress.IPv4Address(holder))))
    except (TypeError, ValueError) as e:
        raise LedgerError(f"the ledger entry of {ip} is damaged ({e}): {str(raw)[:200]!r}") from None
    return Entry(next=next_n, custody=custody, extra=extra)


def _is_ipv4(key: str) -> bool:
    try:
        ipaddress.IPv4Address(key)
    except ValueError:
        return False
    return True


class LedgerDocument:
    """The entries as read from a backend; remembers which ones were changed, for the write back."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = {k: v for k, v in raw.items() if _is_ipv4(k)}
        self._decoded: dict[str, Entry] = {}
        self.changed: set[str] = set()

    def addresses(self) -> Iterator[str]:
        return iter(list(self._raw))

    def entry(self, ip: str) -> Entry:
        """The entry of ``ip`` (an empty one if the address never handed out IDs)."""
        if ip not in self._decoded:
            raw = self._raw.get(ip)
            self._decoded[ip] = Entry() if raw is None else _decode_entry(ip, raw)
        return self._decoded[ip]

    def mark(self, ip: str) -> None:
        self.changed.add(ip)

    def encoded(self, ip: str) -> str:
        """The compact JSON of one entry (what a ConfigMap value holds)."""
        return json.dumps(self.entry(ip).to_json(), separators=(",", ":"))

    def as_objects(self) -> dict[str, Any]:
        """Every entry as a JSON object (what the ledger file holds); untouched entries as they were read."""
        result: dict[str, Any] = {}
        for ip in sorted(self._raw.keys() | self.changed, key=ipaddress.IPv4Address):
            if ip in self.changed:
                result[ip] = self.entry(ip).to_json()
                continue
            raw = self._raw[ip]
            try:
                result[ip] = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                result[ip] = raw  # damaged: kept as it is, for a human to repair
        return result


# ------------------------------------------------------------------------------------ operations


def reserve(document: LedgerDocument, ip: str, count: int) -> Range:
    """Reserves the next ``count`` offsets of ``ip`` (fewer at the end of its million; empty when used up)."""
    entry = document.entry(ip)
    lo = entry.next
    hi = min(lo + max(count, 0), BLOCK_SIZE)
    if hi > lo:
        entry.next = hi
        document.mark(ip)
    return lo, hi


def record_custody(document: LedgerDocument, *, holder: str, ranges: Mapping[str, Iterable[Range]]) -> None:
    """Records that ``holder`` now holds the history of ``ranges`` (offsets, by owner address).

    Overlapping older records of those offsets are replaced, adjacent records of one holder merged.
    """
    for owner, new_ranges in ranges.items():
        entry = document.entry(owner)
        custody = entry.custody
        for lo, hi in new_ranges:
            kept: list[Custody] = []
            for c in custody:
                if c.hi <= lo or c.lo >= hi:
                    kept.append(c)
                    continue
                if c.lo < lo:
                    kept.append(Custody(c.lo, lo, c.holder))
                if c.hi > hi:
                    kept.append(Custody(hi, c.hi, c.holder))
            kept.append(Custody(lo, hi, holder))
            custody = kept
        entry.custody = _merged(custody)
        if len(entry.custody) > MAX_CUSTODY_RANGES:
            dropped = entry.custody[: len(entry.custody) - MAX_CUSTODY_RANGES]
            log.warning("ledger entry of %s: dropping the %d oldest custody records", owner, len(dropped))
            entry.custody = entry.custody[len(dropped) :]
        document.mark(owner)


def _merged(custody: list[Custody]) -> list[Custody]:
    result: list[Custody] = []
    for c in sorted(custody, key=lambda c: c.lo):
        if result and result[-1].holder == c.holder and result[-1].hi == c.lo:
            result[-1].hi = c.hi
        else:
            result.append(Custody(c.lo, c.hi, c.holder))
    return result


def holder_of(document: LedgerDocument, job_id: int) -> str | None:
    """Who holds the history of ``job_id`` according to the ledger, or None."""
    owner = ip_from_id(job_id)
    n = offset_of(job_id)
    for c in document.entry(owner).custody:
        if c.lo <= n < c.hi:
            return c.holder
    return None
