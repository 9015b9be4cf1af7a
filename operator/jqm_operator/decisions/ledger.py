"""What a cluster's ID ledger says, for the operator's metrics: how far each address has reserved IDs.

The nodes own the ledger's format (docs/NODE.md, "Job IDs and the ID ledger"): one ``data`` key per
IPv4 address, each a JSON object whose ``next`` is the address's high-water mark (every ``n`` below
it was reserved once, of the 1,000,000 an address has) and whose ``custody`` lists the ID ranges of
handed-over history with the member that holds them. The operator only reads it; an entry it cannot
read is counted, never fatal.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

IDS_PER_ADDRESS = 1_000_000


@dataclass(frozen=True, kw_only=True)
class LedgerSummary:
    reserved: Mapping[str, int] = field(default_factory=dict)
    """High-water mark (IDs ever reserved) of each address."""
    custody_ranges: int = 0
    """Ranges of handed-over history recorded, over all addresses."""
    unreadable: int = 0
    """Entries that are not what the nodes write."""

    @property
    def exhausted(self) -> int:
        """Addresses that have reserved all of their IDs: a node there takes no job any more."""
        return sum(1 for n in self.reserved.values() if n >= IDS_PER_ADDRESS)


def summarize(data: Mapping[str, Any] | None) -> LedgerSummary:
    """The summary of a ledger ConfigMap's ``data`` (None or empty: a ledger nobody wrote yet)."""
    reserved: dict[str, int] = {}
    custody = unreadable = 0
    for key, raw in (data or {}).items():
        try:
            ip = str(ipaddress.IPv4Address(key))
            entry = json.loads(raw) if isinstance(raw, str) else None
        except (ValueError, RecursionError):
            unreadable += 1
            continue
        if not isinstance(entry, dict):
            unreadable += 1
            continue
        high, ranges = entry.get("next", 0), entry.get("custody") or []
        if isinstance(high, bool) or not isinstance(high, int) or high < 0 or not isinstance(ranges, list):
            unreadable += 1
            continue
        reserved[ip] = high
        custody += len(ranges)
    return LedgerSummary(reserved=reserved, custody_ranges=custody, unreadable=unreadable)
