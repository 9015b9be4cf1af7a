"""Job IDs as upstream standalone JQM makes them: ``ipv4_as_uint32 * 1_000_000 + n``.

Any node can tell which node created an ID by integer division, so no shared database is needed.
Each node owns a block of one million IDs; it must be restarted (with an empty store) before the
block runs out, which is why the allocator refuses to wrap and reports what is left.
"""

import ipaddress

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


class IdsExhaustedError(Exception):
    """The node handed out all the IDs it may; it must be restarted."""


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
