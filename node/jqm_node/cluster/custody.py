"""Where a call about a job (or deliverable) must be answered: here, on its owner, or on the member
that holds its history since its owner left (custody, recorded in the ID ledger).

:class:`OwnerResolver` decides, in this order:

1. the job is in this node's store or held history: here;
2. its ID is one this node's work directory handed out: here (unknown IDs answer 404 as before);
3. the ledger says a member holds its history: that member (this also covers an address reused by a
   newer node, whose own IDs are never in a custody range);
4. its owner is a member: the owner;
5. otherwise 410 at once, with no connection to any address: the owner left and nobody holds the
   history any more (expired, or never handed over).

The ledger is read through a cache (``CACHE_SECONDS``); a miss, or a holder that is no member (it may
have just handed the history on and left), reads it again at most every ``MISS_REFRESH_SECONDS``, and
a forward that finds its target dead reads it again at once (the owner may have just handed its
history over and left). 410 is definitive, so it is never answered while the membership is unsure
(the last DNS resolution failed, e.g. on a node that has just started): 503 then, and the client
tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from jqm_node.cluster.membership import Membership
from jqm_node.errors import GoneError, UnavailableError
from jqm_node.ids import ip_from_id, offset_of
from jqm_node.ledger import IdLedger, LedgerDocument, LedgerError, holder_of

log = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
MISS_REFRESH_SECONDS = 0.5


def gone_message(object_id: int) -> str:
    return (
        f"job {object_id} belonged to node {ip_from_id(object_id)}, which has left the cluster; "
        "its history has expired or was never handed over"
    )


class CustodyDirectory:
    """The ledger's custody records, read through a short cache; a stale copy is used while the ledger is down."""

    def __init__(self, ledger: IdLedger | None) -> None:
        self.ledger = ledger
        self._document: LedgerDocument | None = None
        self._read_at = float("-inf")
        self._reading: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        self.reads = 0

    async def holder(self, object_id: int, *, max_age: float = CACHE_SECONDS) -> str | None:
        """The member holding ``object_id``'s history per a ledger copy at most ``max_age`` old (or a
        stale one if the ledger cannot be read now); LedgerError when no copy could ever be read."""
        if self.ledger is None:
            return None
        if time.monotonic() - self._read_at >= max_age:
            await self._refresh()
        if self._document is None:
            raise LedgerError(self.last_error or "the ID ledger was never read")
        try:
            return holder_of(self._document, object_id)
        except LedgerError as e:
            log.warning("custody of %s: %s", object_id, e)
            return None

    async def _refresh(self) -> None:
        if self._reading is None:
            self._reading = asyncio.get_running_loop().create_task(self._read())
        await asyncio.shield(self._reading)

    async def _read(self) -> None:
        assert self.ledger is not None
        self.reads += 1
        try:
            self._document = await self.ledger.read()
            self.last_error = None
        except LedgerError as e:
            self.last_error = str(e)
        finally:
            self._read_at = time.monotonic()
            self._reading = None


class OwnerResolver:
    def __init__(
        self,
        *,
        self_ip: str,
        membership: Membership,
        custody: CustodyDirectory,
        knows: Callable[[int], bool],
        owns: Callable[[int], bool],
        holds_range_of: Callable[[int], bool],
        lineage_end: Callable[[], int],
    ) -> None:
        """``knows``: in the store or held history; ``owns``: handed out by this work dir; ``holds_range_of``:
        in a range handed over to this node; ``lineage_end``: the first offset this work dir never reserved."""
        self.self_ip = self_ip
        self.membership = membership
        self.custody = custody
        self._knows = knows
        self._owns = owns
        self._holds_range_of = holds_range_of
        self._lineage_end = lineage_end

    async def target(self, object_id: int) -> str | None:
        """The member that must answer for ``object_id``, or None for this node. Raises GoneError
        (410) when nobody can, UnavailableError (503) when the ledger is needed and cannot be read."""
        if self._knows(object_id):
            return None
        owner = ip_from_id(object_id)
        if owner == self.self_ip and self._owns(object_id):
            return None
        try:
            holder = await self.custody.holder(object_id)
        except LedgerError:
            holder = None  # decided below, where the ledger is needed
        if holder is not None:
            return await self._holder_or_gone(object_id, holder)
        if owner == self.self_ip:
            if offset_of(object_id) >= self._lineage_end():
                return None  # never handed out: "unknown" as any unknown ID of a live node
        elif await self.membership.is_member(owner):
            return owner
        try:
            holder = await self.custody.holder(object_id, max_age=MISS_REFRESH_SECONDS)
        except LedgerError as e:
            raise UnavailableError(f"cannot find who holds the history of job {object_id}: {e}") from None
        if holder is None:
            self._unless_unsure(owner)
            raise GoneError(gone_message(object_id))
        return await self._holder_or_gone(object_id, holder)

    async def after_failure(self, object_id: int, failed: str) -> str | None:
        """Who to ask when ``failed`` could not be reached: the holder of the job's history if the
        ledger, read again now, names another one (this node's own address when it is this node),
        else None."""
        try:
            holder = await self.custody.holder(object_id, max_age=0.0)
        except LedgerError:
            return None
        if holder is None or holder == failed:
            return None
        if holder == self.self_ip:
            return holder if self._holds_range_of(object_id) else None
        return holder if await self.membership.is_member(holder) else None

    async def _holder_or_gone(self, object_id: int, holder: str, *, fresh: bool = False) -> str | None:
        """The holder, if it answers for the ID; else the holder a fresher ledger copy names, or 410."""
        if holder == self.self_ip:
            if self._holds_range_of(object_id):
                return None  # held here: the record answers, or 410 "expired"
        elif await self.membership.is_member(holder):
            return holder
        if not fresh:  # the holder may have handed the history on and left since the cached copy was read
            with contextlib.suppress(LedgerError):
                newer = await self.custody.holder(object_id, max_age=MISS_REFRESH_SECONDS)
                if newer is not None and newer != holder:
                    return await self._holder_or_gone(object_id, newer, fresh=True)
        if holder != self.self_ip:
            self._unless_unsure(holder)
        raise GoneError(gone_message(object_id))

    def _unless_unsure(self, address: str) -> None:
        """503 instead of a definitive 410 while the membership may be missing ``address``."""
        failure = self.membership.dns_failure
        if failure is not None:
            raise UnavailableError(f"cannot tell whether node {address} is still a member: {failure}")
