"""Where a call about an ID is answered: here, its owner, the holder of its history, or 410 with no connection."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from jqm_node.cluster.custody import MISS_REFRESH_SECONDS, CustodyDirectory, OwnerResolver
from jqm_node.cluster.membership import Membership
from jqm_node.errors import GoneError, UnavailableError
from jqm_node.ids import id_base
from jqm_node.ledger import FileLedger, LedgerDocument, record_custody

SELF, LIVE, LEFT, HOLDER = "127.0.0.2", "127.0.0.3", "127.0.0.9", "127.0.0.4"


class Resolver:
    """An OwnerResolver over a file ledger; the node's own store and lineage are plain sets."""

    def __init__(self, ledger: FileLedger | None, *, members: tuple[str, ...] = (LIVE, HOLDER)) -> None:
        self.known: set[int] = set()
        self.lineage = (100, 200)
        self.held_ranges: set[int] = set()
        self.custody = CustodyDirectory(ledger)
        self.resolver = OwnerResolver(
            self_ip=SELF,
            membership=Membership(self_ip=SELF, static=members),
            custody=self.custody,
            knows=self.known.__contains__,
            owns=lambda i: i // 1_000_000 == id_base(SELF) // 1_000_000 and self.lineage[0] <= i % 1_000_000 < 200,
            holds_range_of=self.held_ranges.__contains__,
            lineage_end=lambda: self.lineage[1],
        )


@pytest.fixture
def ledger(tmp_path: Path) -> FileLedger:
    return FileLedger(tmp_path / "ledger.json")


async def hand_over(ledger: FileLedger, owner: str, lo: int, hi: int, holder: str) -> None:
    def change(document: LedgerDocument) -> None:
        record_custody(document, holder=holder, ranges={owner: [(lo, hi)]})

    await ledger.update(change)


async def test_routes(ledger: FileLedger) -> None:
    await hand_over(ledger, LEFT, 0, 50, HOLDER)
    await hand_over(ledger, SELF, 0, 50, HOLDER)  # an earlier node on this node's address
    r = Resolver(ledger)
    r.known.add(id_base(LEFT) + 60)
    target = r.resolver.target
    assert await target(id_base(LEFT) + 60) is None, "in this node's store or held history"
    assert await target(id_base(SELF) + 150) is None, "handed out by this node"
    assert await target(id_base(SELF) + 500) is None, "never handed out: answered here (404)"
    assert await target(id_base(SELF) + 10) == HOLDER, "an earlier node on this address handed it over"
    assert await target(id_base(LEFT) + 10) == HOLDER, "its owner left, a member holds its history"
    assert await target(id_base(LIVE) + 10) == LIVE, "its owner is a member"
    with pytest.raises(GoneError, match=r"^job \d+ belonged to node 127\.0\.0\.9, which has left the cluster; its hi"):
        await target(id_base(LEFT) + 70)
    with pytest.raises(GoneError):
        await target(id_base(SELF) + 60)  # handed out before this node, and not handed over


async def test_a_holder_that_left_or_lost_the_history_means_gone(ledger: FileLedger) -> None:
    await hand_over(ledger, LEFT, 0, 50, "127.0.0.77")
    await hand_over(ledger, LEFT, 50, 100, SELF)
    r = Resolver(ledger)
    with pytest.raises(GoneError):
        await r.resolver.target(id_base(LEFT) + 1)  # its holder is no member
    with pytest.raises(GoneError):
        await r.resolver.target(id_base(LEFT) + 60)  # the ledger names this node, which lost it (new pod)
    r.held_ranges.add(id_base(LEFT) + 60)
    assert await r.resolver.target(id_base(LEFT) + 60) is None, "held here: the record answers, or 410 'expired'"


async def test_after_a_failed_forward_the_ledger_is_read_again(ledger: FileLedger) -> None:
    r = Resolver(ledger)
    assert await r.resolver.target(id_base(LIVE) + 1) == LIVE
    await hand_over(ledger, LIVE, 0, 10, HOLDER)  # the owner handed over and left just now
    assert await r.resolver.target(id_base(LIVE) + 1) == LIVE, "the cached ledger does not know yet"
    assert await r.resolver.after_failure(id_base(LIVE) + 1, LIVE) == HOLDER
    assert await r.resolver.after_failure(id_base(LIVE) + 50, LIVE) is None
    await hand_over(ledger, LIVE, 10, 20, SELF)
    assert await r.resolver.after_failure(id_base(LIVE) + 15, LIVE) is None, "named, but not held here (lost)"
    r.held_ranges.add(id_base(LIVE) + 15)
    assert await r.resolver.after_failure(id_base(LIVE) + 15, LIVE) == SELF, "answered here"


async def test_without_a_readable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.mkdir()  # unreadable as a file
    r = Resolver(FileLedger(path))
    assert await r.resolver.target(id_base(LIVE) + 1) == LIVE, "members are still reached"
    with pytest.raises(UnavailableError, match="cannot find who holds the history of job"):
        await r.resolver.target(id_base(LEFT) + 1)
    no_ledger = Resolver(None)
    with pytest.raises(GoneError):
        await no_ledger.resolver.target(id_base(LEFT) + 1)


async def test_a_holder_that_handed_the_history_on_is_followed_not_declared_gone(ledger: FileLedger) -> None:
    """The cached ledger copy names a holder that has since handed the history on and left: the
    ledger is read again before any 410."""
    await hand_over(ledger, LEFT, 0, 50, LIVE)
    r = Resolver(ledger, members=(HOLDER,))  # LIVE is no member any more
    with pytest.raises(GoneError):
        await r.resolver.target(id_base(LEFT) + 1)  # the ledger, just read, names LIVE: gone indeed
    await hand_over(ledger, LEFT, 0, 50, HOLDER)  # LIVE had handed it on to HOLDER before it left
    r.custody._read_at -= 2 * MISS_REFRESH_SECONDS
    assert await r.resolver.target(id_base(LEFT) + 1) == HOLDER


async def unresolvable(*_: Any, **__: Any) -> Any:
    raise socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution")


async def test_no_410_while_the_membership_is_unsure(ledger: FileLedger) -> None:
    """A node whose DNS does not answer (just started, resolver unreachable) cannot tell a member that
    left from one it does not see: 503, which a client retries, never the definitive 410."""
    asyncio.get_running_loop().getaddrinfo = unresolvable  # type: ignore[method-assign]
    await hand_over(ledger, LEFT, 0, 50, "127.0.0.77")
    r = Resolver(ledger)
    r.resolver.membership = Membership(self_ip=SELF, dns_name="peers.test")
    with pytest.raises(UnavailableError, match=r"cannot tell whether node 127\.0\.0\.9 is still a member: cannot res"):
        await r.resolver.target(id_base(LEFT) + 70)  # no custody: its owner may be a member
    with pytest.raises(UnavailableError, match=r"cannot tell whether node 127\.0\.0\.77 is still a member"):
        await r.resolver.target(id_base(LEFT) + 1)  # its holder may be a member
