"""What every ledger backend offers: a consistent read, and an atomic read-modify-write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from jqm_node.ledger.document import LedgerDocument

T = TypeVar("T")


class IdLedger(Protocol):
    description: str
    """How the ledger was configured (``file:PATH``, ``configmap:NS/NAME``), for messages and status."""

    async def read(self) -> LedgerDocument:
        """The current content; raises LedgerError."""
        ...

    async def update(self, change: Callable[[LedgerDocument], T]) -> T:
        """Applies ``change`` to the current content and stores the entries it marked, atomically
        with respect to every other node: ``change`` may run again on fresher content if another
        writer came first. Returns what ``change`` returned; raises LedgerError."""
        ...

    async def close(self) -> None: ...
