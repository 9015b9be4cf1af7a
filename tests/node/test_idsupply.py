"""IDs come only from blocks recorded in the ledger: prefetch, limits, the end of an address's million, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from jqm_node.ids import BLOCK_SIZE, IdsExhaustedError, IdsUnavailableError, id_base
from jqm_node.idsupply import FIRST_BLOCK, MAX_BLOCK, IdSupply
from jqm_node.ledger import FileLedger, LedgerDocument, LedgerError
from tests.waiting import wait_until_async

IP = "10.244.0.5"
BASE = id_base(IP)
T = TypeVar("T")


class FlakyLedger(FileLedger):
    """A file ledger that can be made unreachable, and counts reservations."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.broken = False
        self.updates = 0

    async def update(self, change: Callable[[LedgerDocument], T]) -> T:
        if self.broken:
            raise LedgerError("the ID ledger test: cannot be reached: connection refused")
        self.updates += 1
        return await super().update(change)


@pytest.fixture
def ledger(tmp_path: Path) -> FlakyLedger:
    return FlakyLedger(tmp_path / "ledger.json")


async def settle() -> None:
    """Gives a reservation that must not happen half a second to show (a negative check cannot be polled for)."""
    await asyncio.sleep(0.5)


async def test_first_block_then_prefetch_at_half(ledger: FlakyLedger) -> None:
    journaled: list[tuple[int, int]] = []
    supply = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE, on_reserved=lambda lo, hi: journaled.append((lo, hi)))
    await supply.start(wait=5)
    assert (supply.in_hand, journaled) == (FIRST_BLOCK, [(0, FIRST_BLOCK)])
    ids = [supply.next_id() for _ in range(FIRST_BLOCK // 2 - 1)]
    await settle()
    assert ledger.updates == 1, "no reservation before half of the block is used"
    ids.append(supply.next_id())
    await wait_until_async(lambda: len(journaled) == 2, what="the next block reserved")
    assert journaled == [(0, FIRST_BLOCK), (FIRST_BLOCK, 3 * FIRST_BLOCK)], "the next block is twice as large"
    ids += [supply.next_id() for _ in range(FIRST_BLOCK)]
    assert ids == [BASE + n for n in range(len(ids))]
    assert (supply.used, supply.capacity, supply.remaining) == (len(ids), BLOCK_SIZE, BLOCK_SIZE - len(ids))
    assert supply.owns(BASE + 5) and supply.owns(BASE + 3 * FIRST_BLOCK - 1)
    assert not supply.owns(BASE + 3 * FIRST_BLOCK) and not supply.owns(id_base("10.244.0.6"))
    await supply.close()


async def test_block_size_is_capped(ledger: FlakyLedger) -> None:
    supply = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await supply.start(wait=5)
    sizes = []
    for _ in range(10):
        await supply.wait_available()
        sizes.append(supply.in_hand)
        for _ in range(supply.in_hand):
            supply.next_id()
    assert sizes == [FIRST_BLOCK * 2**n for n in range(8)] + [MAX_BLOCK, MAX_BLOCK]
    await supply.close()


async def test_a_restart_continues_above_the_high_water_mark(ledger: FlakyLedger) -> None:
    first = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await first.start(wait=5)
    handed = [first.next_id() for _ in range(3)]
    await first.close()  # killed: the rest of its block is never handed out
    second = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await second.start(wait=5)
    assert second.next_id() == BASE + FIRST_BLOCK > max(handed)
    await second.close()


async def test_the_limit_bounds_reservations(ledger: FlakyLedger) -> None:
    supply = IdSupply(ip=IP, ledger=ledger, limit=3)
    await supply.start(wait=5)
    assert [supply.next_id() for _ in range(3)] == [BASE, BASE + 1, BASE + 2]
    with pytest.raises(IdsExhaustedError, match="all of its 3 job IDs and must be restarted"):
        supply.next_id()
    assert (supply.capacity, supply.remaining) == (3, 0)
    assert (await ledger.read()).entry(IP).next == 3, "a node reserves no more than it may hand out"
    await supply.close()


async def test_the_end_of_an_address_million(ledger: FlakyLedger) -> None:
    await ledger.update(lambda d: d.entry(IP).__setattr__("next", BLOCK_SIZE - 10) or d.mark(IP))
    supply = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await supply.start(wait=5)
    assert supply.capacity == 10
    assert [supply.next_id() for _ in range(10)][-1] == BASE + BLOCK_SIZE - 1
    with pytest.raises(IdsExhaustedError, match=r"has used all of its 1,000,000 job IDs .* another address"):
        supply.next_id()
    assert supply.unavailable_reason() is not None
    used_up = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await used_up.start(wait=5)
    assert (used_up.capacity, used_up.remaining, used_up.in_hand) == (0, 0, 0)
    with pytest.raises(IdsExhaustedError):
        used_up.next_id()
    await supply.close()
    await used_up.close()


async def test_outage_hands_out_what_is_in_hand_then_refuses(ledger: FlakyLedger) -> None:
    supply = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await supply.start(wait=5)
    in_hand = supply.in_hand
    ledger.broken = True
    handed = 0
    with pytest.raises(IdsUnavailableError, match=r"cannot be reached.*rather than risk a duplicate ID"):
        while True:
            supply.next_id()
            handed += 1
            await asyncio.sleep(0)
    assert handed == in_hand
    assert supply.status()["reachable"] is False and supply.failures >= 1
    await supply.wait_available()  # returns at once: the ledger failed, the caller is refused at once
    ledger.broken = False
    await supply.wait_available(within=10, even_after_failure=True)
    assert supply.next_id() == BASE + in_hand
    assert supply.status()["reachable"] is True
    await supply.close()


async def test_a_reservation_under_way_refuses_briefly_without_making_health_flap(ledger: FlakyLedger) -> None:
    supply = IdSupply(ip=IP, ledger=ledger, limit=BLOCK_SIZE)
    await supply.start(wait=5)
    release = asyncio.Event()
    original = ledger.update

    async def slow_update(change: Callable[[LedgerDocument], T]) -> T:
        await release.wait()
        return await original(change)

    ledger.update = slow_update  # type: ignore[method-assign]
    for _ in range(FIRST_BLOCK):
        supply.next_id()
    assert supply.unavailable_reason() is None, "the ledger answers: health stays 200"
    with pytest.raises(IdsUnavailableError, match="being reserved"):
        supply.next_id()
    release.set()
    await supply.wait_available()
    assert supply.next_id() == BASE + FIRST_BLOCK
    await supply.close()
