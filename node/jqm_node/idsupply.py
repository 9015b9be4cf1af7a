"""Job IDs reserved in the ledger before they are handed out.

The supply reserves blocks of offsets for its address in the ledger: the first block has
``FIRST_BLOCK`` IDs, each next one twice the previous, up to ``MAX_BLOCK``. When the block in use is
half used, the next one is reserved in the background, so an enqueue does not wait for the ledger.
If the ledger cannot be reached the node goes on with the IDs in hand (``in_hand``: the rest of the
block in use and the one reserved ahead) and then refuses enqueues rather than hand out an ID that
might be handed out again. A node never hands out more than ``limit`` IDs (``JQM_ID_LIMIT``) and never
goes past its address's million: once the ledger has nothing left for the address, the node's
capacity ends there and it must be replaced by a node with another address.

Every reserved block is reported to ``on_reserved`` before any of its IDs is handed out, so that the
journal knows which IDs this node's work directory handed out across its restarts (``owns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jqm_node.ids import BLOCK_SIZE, IdsExhaustedError, IdsUnavailableError, id_base, ip_from_id, offset_of
from jqm_node.ledger import IdLedger, LedgerError, reserve

log = logging.getLogger(__name__)

FIRST_BLOCK = 128
MAX_BLOCK = 16_384
RETRY_SECONDS = (0.1, 5.0)
"""First and longest pause between two failed reservations."""

Range = tuple[int, int]


@dataclass(slots=True)
class _Block:
    next: int
    hi: int
    size: int


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    merged: list[Range] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


class IdSupply:
    def __init__(
        self, *, ip: str, ledger: IdLedger, limit: int, on_reserved: Callable[[int, int], None] | None = None
    ) -> None:
        self.ip = ip
        self.ledger = ledger
        self._base = id_base(ip)
        self._limit = limit
        self._on_reserved = on_reserved
        self._blocks: deque[_Block] = deque()
        self._used = 0
        self._reserved = 0
        self._first: int | None = None
        self._address_used_up = False
        self._next_size = FIRST_BLOCK
        self._task: asyncio.Task[None] | None = None
        self._available = asyncio.Event()
        self.lineage: list[Range] = []
        self.last_error: str | None = None
        self.reservations = 0
        self.failures = 0

    # ------------------------------------------------------------------------------ figures

    @property
    def used(self) -> int:
        return self._used

    @property
    def capacity(self) -> int:
        """What this process may hand out in all: its limit, or less when the address's million ends first."""
        if self._address_used_up:
            return self._reserved
        if self._first is None:
            return self._limit
        return min(self._limit, BLOCK_SIZE - self._first)

    @property
    def remaining(self) -> int:
        return self.capacity - self._used

    @property
    def in_hand(self) -> int:
        return sum(b.hi - b.next for b in self._blocks)

    def has_ids_in_hand(self) -> bool:
        """``in_hand > 0``, in O(1) for the enqueue path: the newest block is the last one used up."""
        return bool(self._blocks) and self._blocks[-1].next < self._blocks[-1].hi

    @property
    def exhausted(self) -> bool:
        return self._reserved >= self.capacity and not self.in_hand

    def owns(self, job_id: int) -> bool:
        if ip_from_id(job_id) != self.ip:
            return False
        n = offset_of(job_id)
        return any(lo <= n < hi for lo, hi in self.lineage)

    def unavailable_reason(self) -> str | None:
        """Why no ID can be handed out, or None. A block being reserved while the ledger answers is
        no reason once the node had IDs (health must not flap between two blocks)."""
        if self.in_hand:
            return None
        if self.exhausted:
            if self._address_used_up:
                return (
                    f"the address {self.ip} has used all of its {BLOCK_SIZE:,} job IDs (ID ledger "
                    f"{self.ledger.description}); this node must be restarted on another address"
                )
            return f"this node has handed out all of its {self.capacity} job IDs and must be restarted"
        if self.last_error:
            return (
                f"no job ID can be handed out: the IDs this node reserved are used up and the ID ledger cannot "
                f"be reached ({self.last_error}); enqueues are refused rather than risk a duplicate ID"
            )
        if self._first is not None:
            return None
        return f"job IDs are being reserved in the ID ledger {self.ledger.description}; retry"

    def status(self) -> dict[str, Any]:
        return {
            "backend": self.ledger.description,
            "reachable": self.last_error is None,
            "lastError": self.last_error,
            "reservations": self.reservations,
            "failures": self.failures,
            "nextBlock": self._next_size,
        }

    # ------------------------------------------------------------------------------ handing out

    def adopt_lineage(self, ranges: Iterable[Range]) -> None:
        """The blocks earlier processes of this work dir reserved (from the journal)."""
        self.lineage = merge_ranges([*self.lineage, *ranges])

    def next_id(self) -> int:
        while self._blocks and self._blocks[0].next >= self._blocks[0].hi:
            self._blocks.popleft()
        if not self._blocks:
            self._available.clear()
            self._start_reserving()
            reason = (
                self.unavailable_reason()
                or f"job IDs are being reserved in the ID ledger {self.ledger.description}; retry"
            )
            raise (IdsExhaustedError if self.exhausted else IdsUnavailableError)(reason)
        block = self._blocks[0]
        n = block.next
        block.next += 1
        self._used += 1
        if len(self._blocks) == 1:
            left = block.hi - block.next
            if left * 2 <= block.size:
                self._start_reserving()
            if not left:
                self._available.clear()
        return self._base + n

    async def start(self, *, wait: float) -> None:
        """Reserves the first block, waiting for it at most ``wait`` seconds (then it goes on in the background)."""
        self._start_reserving()
        await self.wait_available(within=wait, even_after_failure=True)

    async def wait_available(self, *, within: float = 2.0, even_after_failure: bool = False) -> None:
        """Returns once an ID is in hand, or at once when none can come soon: the ledger failed last
        time (then an enqueue is refused at once), or nothing is left to reserve."""
        if self.has_ids_in_hand() or self.exhausted or (self.last_error and not even_after_failure):
            return
        self._start_reserving()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._available.wait(), within)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ------------------------------------------------------------------------------ reserving

    def _start_reserving(self) -> None:
        if self._task is None and self._reserved < self.capacity:
            self._task = asyncio.get_running_loop().create_task(self._reserve_one_block())

    async def _reserve_one_block(self) -> None:
        pause = RETRY_SECONDS[0]
        try:
            while True:
                count = min(self._next_size, self.capacity - self._reserved)
                if count <= 0:
                    return
                try:
                    lo, hi = await self.ledger.update(functools.partial(reserve, ip=self.ip, count=count))
                except LedgerError as e:
                    self.failures += 1
                    if self.last_error is None:
                        log.warning("cannot reserve job IDs (%d in hand): %s", self.in_hand, e)
                    self.last_error = str(e)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_SECONDS[1])
                    continue
                if self.last_error is not None:
                    log.info("the ID ledger %s answers again", self.ledger.description)
                self.last_error = None
                self._take(lo, hi, count)
                return
        finally:
            self._task = None

    def _take(self, lo: int, hi: int, asked: int) -> None:
        if hi - lo < asked:
            self._address_used_up = True
            log.error("the address %s has no job ID left in the ledger after offset %d", self.ip, hi)
        if hi <= lo:
            self._available.set()  # wakes the waiters: nothing more will come
            return
        if self._first is None:
            self._first = lo
        if self._on_reserved is not None:
            self._on_reserved(lo, hi)  # journaled before any ID of the block is handed out
        self.lineage = merge_ranges([*self.lineage, (lo, hi)])
        self._blocks.append(_Block(next=lo, hi=hi, size=hi - lo))
        self._reserved += hi - lo
        self.reservations += 1
        self._next_size = min(self._next_size * 2, MAX_BLOCK)
        self._available.set()
