"""What the timer sees of each node: from its pod object, and from its ``/node/status`` when it answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Handover:
    """One entry of a node's ``handovers``: the history it received from a node that left."""

    from_ip: str
    jobs: int
    not_run: int
    at: str

    @property
    def key(self) -> str:
        """Identifies the entry among the node's last 20, so that each is reported once."""
        return f"{self.at}|{self.from_ip}"

    @classmethod
    def from_status(cls, entry: Mapping[str, Any]) -> Handover:
        return cls(
            from_ip=str(entry.get("from") or "?"),
            jobs=int(entry.get("jobs") or 0),
            not_run=int(entry.get("notRun") or 0),
            at=str(entry.get("at") or ""),
        )


def handovers_of(answer: Mapping[str, Any]) -> tuple[Handover, ...]:
    entries = answer.get("handovers")
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        return ()
    return tuple(Handover.from_status(e) for e in entries if isinstance(e, Mapping))


@dataclass(frozen=True, kw_only=True)
class NodeObservation:
    """One node pod as seen now: from the pod object, and from its ``/node/status`` when reachable."""

    pod: str
    uid: str
    ip: str | None = None
    ready: bool = False
    terminating: bool = False
    deletion_cost: int | None = None
    """The pod's ``controller.kubernetes.io/pod-deletion-cost`` annotation as it is now."""
    reachable: bool = False
    ids_used: int = 0
    id_capacity: int = 0
    draining: bool = False
    drain_reason: str | None = None
    stopping: bool = False
    accepting: bool = False
    """A draining node still taking jobs while load balancers catch up: not drained yet."""
    running: int = 0
    queued: int = 0
    handovers: tuple[Handover, ...] = ()
