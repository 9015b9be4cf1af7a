"""The ledger, journal, held-history and handover figures of ``/node/status`` and ``/metrics``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jqm_node.idsupply import IdSupply
from jqm_node.node import Node


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status(node: Node) -> dict[str, Any]:
    """Fields added to ``/node/status``.

    ``idsReserved``: IDs reserved in the ledger and not handed out yet, i.e. how many enqueues the node
    still takes if the ledger cannot be reached. ``handovers``: the last 20 handovers this node received.
    """
    history, journal, ids = node.history, node.journal, node.ids
    sent = node.handover
    return {
        "idsReserved": ids.in_hand,
        "ledger": ids.status() if isinstance(ids, IdSupply) else {"backend": "off"},
        "journal": {
            "enabled": journal is not None,
            "bytes": journal.bytes if journal else 0,
            "recordsWritten": journal.records_written if journal else 0,
            "errors": journal.errors if journal else 0,
            "recovered": node.recovered.summary(),
        },
        "history": {
            "held": len(history),
            "expired": history.expired_total,
            "maxJobs": history.max_jobs,
            "maxAgeSeconds": history.max_age,
        },
        "handovers": [
            {"from": h.sender, "jobs": h.jobs, "notRun": h.not_run, "at": _iso(h.at)} for h in history.handovers
        ],
        "handoverSent": None if sent is None else {**sent.to_json(), "at": _iso(sent.at)},
    }


def metrics(node: Node) -> list[str]:
    ids, journal, history = node.ids, node.journal, node.history
    supply = ids if isinstance(ids, IdSupply) else None
    figures = [
        ("jqm_ids_reserved", "gauge", "IDs reserved in the ledger and not handed out yet.", ids.in_hand),
        ("jqm_ledger_reachable", "gauge", "1 when the last call to the ID ledger succeeded.",
         int(supply is None or supply.last_error is None)),
        ("jqm_ledger_reservations_total", "counter", "Blocks of IDs reserved in the ledger.",
         supply.reservations if supply else 0),
        ("jqm_ledger_failures_total", "counter", "Failed calls to the ID ledger.", supply.failures if supply else 0),
        ("jqm_journal_bytes", "gauge", "Size of the journal file.", journal.bytes if journal else 0),
        ("jqm_journal_records_total", "counter", "Records written to the journal since the node started.",
         journal.records_written if journal else 0),
        ("jqm_journal_errors_total", "counter", "Journal writes that failed.", journal.errors if journal else 0),
        ("jqm_history_held_jobs", "gauge", "Finished jobs of nodes that left, held by this node.", len(history)),
        ("jqm_history_expired_total", "counter", "Held jobs dropped by retention.", history.expired_total),
        ("jqm_handovers_received_total", "counter", "Handovers received from members that left.",
         history.handovers_total),
        ("jqm_handover_jobs_received_total", "counter", "Jobs received in handovers.", history.received_total),
    ]  # fmt: skip
    lines = []
    for name, kind, text, value in figures:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return lines
