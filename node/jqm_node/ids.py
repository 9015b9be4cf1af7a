"""Job IDs as upstream standalone JQM makes them: ``ipv4_as_uint32 * 1_000_000 + n``.

Any node can tell which node created an ID by integer division, so no shared database is needed.
Each IPv4 address has a block of one million IDs. Which of them were already handed out is kept in
the ID ledger (:mod:`jqm_node.ledger`), so that a node restarted on a reused address never hands
out an ID again; :class:`IdAllocator` is the ledger-less allocator (``JQM_ID_LEDGER=off``) that
counts from the block's base at every start, as upstream does.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

BLOCK_SIZE = 1_000_000
ID_CEILING = 2**32 * BLOCK_SIZE
"""IDs at or above this decode to no IPv4 address: no node can own them."""


def ip_to_uint32(ip: str) -> int:
    return int(ipaddress.IPv4Address(ip))


def id_base(ip: str) -> int:
    """The first ID of the block owned by ``ip``."""
    return ip_to_uint32(ip) * BLOCK_SIZE


def ip_from_id(job_id: int) -> str:
    """The IPv4 address of the node that created ``job_id``."""
    if job_id < 0:
        raise ValueError(f"a job ID is never negative: {job_id}")
    return str(ipaddress.IPv4Address(job_id // BLOCK_SIZE))


def offset_of(job_id: int) -> int:
    """``n``: the position of an ID inside its address's block."""
    return job_id % BLOCK_SIZE


class IdsExhaustedError(Exception):
    """The node handed out all the IDs it may; it must be restarted."""


class IdsUnavailableError(Exception):
    """No reserved ID is in hand right now (the ledger cannot be reached): handing one out could repeat it."""


class IdSource(Protocol):
    """Where the engine takes job and deliverable IDs from."""

    def next_id(self) -> int:
        """The next ID; raises IdsExhaustedError or IdsUnavailableError."""
        ...

    @property
    def used(self) -> int: ...

    @property
    def capacity(self) -> int: ...

    @property
    def remaining(self) -> int: ...

    @property
    def in_hand(self) -> int:
        """IDs that can be handed out now without asking the ledger."""
        ...

    def owns(self, job_id: int) -> bool:
        """True when ``job_id`` was handed out (or reserved) by this node or an earlier process of its work dir."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why no ID can be handed out now, or None."""
        ...


class IdAllocator:
    """Hands out the IDs of one node's block, in order, never twice.

    The first ID is the block's base (``n = 0``), as upstream restarts its sequence at the base.
    ``limit`` may be lowered below the block size (tests, early restarts); it may never exceed it,
    otherwise IDs would collide with the next address's block.
    """

    __slots__ = ("_base", "_limit", "_used")

    def __init__(self, ip: str, limit: int = BLOCK_SIZE) -> None:
        if not 0 < limit <= BLOCK_SIZE:
            raise ValueError(f"the ID limit must be between 1 and {BLOCK_SIZE}, got {limit}")
        self._base = id_base(ip)
        self._limit = limit
        self._used = 0

    def next_id(self) -> int:
        if self._used >= self._limit:
            raise IdsExhaustedError(f"this node has handed out all of its {self._limit} job IDs and must be restarted")
        self._used += 1
        return self._base + self._used - 1

    @property
    def used(self) -> int:
        return self._used

    @property
    def capacity(self) -> int:
        return self._limit

    @property
    def remaining(self) -> int:
        return self._limit - self._used

    @property
    def in_hand(self) -> int:
        return self.remaining

    def owns(self, job_id: int) -> bool:
        return self._base <= job_id < self._base + BLOCK_SIZE

    def unavailable_reason(self) -> str | None:
        return None if self.remaining else f"all {self._limit} job IDs of this node are used"
