"""A node's jobs back from its journal after its process stopped (crash, kill, container restart).

Waiting, held, scheduled and finished jobs come back as they were (IDs, dates, parameters,
messages, deliverables; their logs are still in the work directory). A job that was running has no
process any more: it ends CRASHED with a message saying so (as upstream does for the jobs it finds
"running" at startup), and what is left of its process group is killed. A waiting job whose job
definition or queue no longer exists in the configuration ends CANCELLED with a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jqm_node.history import HANDOVERS_KEPT, HandoverReceived, HeldHistory
from jqm_node.ids import ip_from_id
from jqm_node.journal import JournalContent, held_record
from jqm_node.model import WAITING_STATES, HeldJob, JobInstance, State
from jqm_node.process import kill_orphan_group
from jqm_node.records import Catalog, RecordError, job_from_fields, job_to_fields

log = logging.getLogger(__name__)

CRASHED_AT_RESTART = (
    "The node process stopped while this job was running (crash, kill or container restart): "
    "the job's process was lost. Marked CRASHED when the node started again."
)


@dataclass(slots=True)
class Recovered:
    """What the journal gave back, ready to be adopted by the engine and the held history."""

    jobs: list[JobInstance] = field(default_factory=list)
    held: list[HeldJob] = field(default_factory=list)
    crashed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    orphans_killed: int = 0
    damaged: int = 0

    def summary(self) -> dict[str, Any]:
        by_state: dict[str, int] = {}
        for job in self.jobs:
            by_state[job.state.value] = by_state.get(job.state.value, 0) + 1
        return {
            "jobs": len(self.jobs),
            "byState": by_state,
            "held": len(self.held),
            "crashed": len(self.crashed),
            "cancelled": len(self.cancelled),
            "damaged": self.damaged,
        }


def rebuild(content: JournalContent, catalog: Catalog, *, now: float | None = None) -> Recovered:
    """The jobs of a replayed journal, running ones turned CRASHED (their processes killed if left)."""
    now = time.time() if now is None else now
    result = Recovered(damaged=content.damaged)
    for fields in content.jobs.values():
        try:
            job: JobInstance = job_from_fields(fields[: content.job_fields], catalog)
        except RecordError as e:
            log.warning("journal: %s", e)
            result.damaged += 1
            continue
        if job.state in (State.RUNNING, State.ATTRIBUTED):
            pid = fields[content.job_fields] if len(fields) > content.job_fields else None
            if isinstance(pid, int) and kill_orphan_group(pid, f"JQM_JI_ID={job.id}"):
                result.orphans_killed += 1
            job.state = State.CRASHED
            job.end_date = now
            job.add_message(CRASHED_AT_RESTART)
            result.crashed.append(job.id)
        elif job.state in WAITING_STATES:
            missing = _missing(job, catalog)
            if missing:
                job.state = State.CANCELLED
                job.end_date = now
                job.add_message(f"Cancelled when the node started again: {missing}")
                result.cancelled.append(job.id)
        result.jobs.append(job)
    for _, origin_node, record in content.held.values():
        fields, refs = record[: content.job_fields], [*record[content.job_fields :], None, None]
        try:
            held = job_from_fields(fields, catalog, HeldJob, origin_node=origin_node)
            held.stdout_ref, held.stderr_ref = (_log_ref(r) for r in refs[:2])
            result.held.append(held)
        except (RecordError, TypeError, ValueError) as e:
            log.warning("journal: %s", e)
            result.damaged += 1
    return result


def _log_ref(raw: Any) -> tuple[str, int, int] | None:
    if not raw:
        return None
    name, offset, length = raw
    return str(name), int(offset), int(length)


def _missing(job: JobInstance, catalog: Catalog) -> str | None:
    if catalog.is_placeholder(job.definition):
        return f"its job definition {job.definition.name} is no longer configured on this node"
    if catalog.is_placeholder(job.queue):
        return f"its queue {job.queue.name} is no longer configured on this node"
    return None


def adopt_held(history: HeldHistory, content: JournalContent, recovered: Recovered) -> None:
    for job in recovered.held:
        history.add(job)
    for owner, lo, hi in content.held_ranges:
        history.add_range(owner, lo, hi)
    for sender, jobs, not_run, at in content.handovers[-HANDOVERS_KEPT:]:
        history.handovers.append(
            HandoverReceived(sender=str(sender), jobs=int(jobs), not_run=int(not_run), at=float(at))
        )
    history.sort()
    history.expire()


def live_records(jobs: list[JobInstance], history: HeldHistory, lineage: list[tuple[int, int]]) -> Iterator[list[Any]]:
    """One record per living thing, in replay order: what a compacted journal holds."""
    for lo, hi in lineage:
        yield ["B", lo, hi]
    for job in sorted(jobs, key=lambda j: j.id):
        yield ["J", *job_to_fields(job)]
    for owner, ranges in history.range_list().items():
        for lo, hi in ranges:
            yield ["R", owner, lo, hi]
    for held in history.in_id_order():
        yield held_record(held, ip_from_id(held.id))
    for received in history.handovers:
        yield ["V", received.sender, received.jobs, received.not_run, received.at]


def report(recovered: Recovered) -> None:
    if not recovered.jobs and not recovered.held:
        return
    summary = recovered.summary()
    log.info(
        "recovered from the journal: %d job(s) %s, %d held for nodes that left; %d were running and are now "
        "CRASHED (%d leftover process group(s) killed), %d cancelled (definition or queue gone), %d damaged record(s)",
        summary["jobs"], summary["byState"], summary["held"], summary["crashed"], recovered.orphans_killed,
        summary["cancelled"], summary["damaged"],
    )  # fmt: skip
