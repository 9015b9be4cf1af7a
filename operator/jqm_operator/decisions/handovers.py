"""Which handovers a node reports that were not yet turned into Events.

Each node lists the last 20 handovers it received (``/node/status`` ``handovers``). The operator keeps,
per pod, the keys of the entries it has posted (``status.postedHandovers``), so every entry becomes one
Event, across ticks and operator restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jqm_operator.decisions.observation import Handover, NodeObservation


@dataclass(frozen=True, kw_only=True)
class NewHandover:
    pod: str
    handover: Handover


def posted_from_status(entries: Any) -> dict[str, frozenset[str]]:
    """Reads ``status.postedHandovers`` (a list of ``{pod, keys}``)."""
    posted: dict[str, frozenset[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("pod"):
            posted[str(entry["pod"])] = frozenset(str(k) for k in entry.get("keys") or [])
    return posted


def find_new(
    *, nodes: Sequence[NodeObservation], posted: Mapping[str, frozenset[str]]
) -> tuple[list[NewHandover], list[dict[str, Any]]]:
    """The entries to post now, and ``status.postedHandovers`` afterwards (pods that are gone dropped)."""
    new: list[NewHandover] = []
    after: list[dict[str, Any]] = []
    for node in sorted(nodes, key=lambda n: n.pod):
        seen = posted.get(node.pod, frozenset())
        if not node.reachable:
            if seen:
                after.append({"pod": node.pod, "keys": sorted(seen)})
            continue
        new += [NewHandover(pod=node.pod, handover=h) for h in node.handovers if h.key not in seen]
        if node.handovers:
            after.append({"pod": node.pod, "keys": sorted(h.key for h in node.handovers)})
    return new, after
