"""The history this node holds for nodes that left the cluster (custody), and its retention.

When a node leaves for good it hands its finished jobs over to a member (the custodian), which keeps
them here: state, dates, parameters, messages, the list of deliverables (not their content) and the
logs up to ``JQM_HANDOVER_LOG_BYTES`` each. The logs of one handover go to one file (a log pack in
``WORKDIR/held-logs``, removed once all its jobs expired): one file per handover, not two per job,
is what makes a handover of 100,000 jobs take seconds. It also keeps the ranges of IDs it was given
custody of, so that an ID of such a range whose record is gone (expired, or a job deleted before the
handover) answers 410 "expired", never "unknown".

Retention (``JQM_HISTORY_MAX_JOBS``, ``JQM_HISTORY_MAX_AGE_SECONDS``, 0 = no limit): the records
that ended first go first; age counts from a job's end.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jqm_node.ids import BLOCK_SIZE, ip_from_id, ip_to_uint32, offset_of
from jqm_node.model import Deliverable, HeldJob
from jqm_node.workspace import Workspace

HANDOVERS_KEPT = 20


@dataclass(frozen=True, slots=True)
class HandoverReceived:
    sender: str
    jobs: int
    not_run: int
    at: float


class LogPack:
    """One handover's logs, appended to one file; a log is known by (pack name, offset, length)."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._size = os.fstat(self._fd).st_size

    def append(self, data: bytes) -> tuple[str, int, int] | None:
        if not data:
            return None
        offset = self._size
        os.write(self._fd, data)
        self._size += len(data)
        return (self.name, offset, len(data))

    def close(self) -> None:
        os.close(self._fd)


class HeldHistory:
    def __init__(self, *, workspace: Workspace, max_jobs: int, max_age: float) -> None:
        self.workspace = workspace
        self.packs = workspace.root / "held-logs"
        self._pack_users: Counter[str] = Counter()
        self.max_jobs = max_jobs
        self.max_age = max_age
        self.jobs: dict[int, HeldJob] = {}
        self.deliverables: dict[int, Deliverable] = {}
        self.ranges: dict[str, list[tuple[int, int]]] = {}
        self.handovers: deque[HandoverReceived] = deque(maxlen=HANDOVERS_KEPT)
        self.expired_total = 0
        self.received_total = 0
        """Jobs received in handovers since the node started."""
        self.handovers_total = 0
        self._by_end: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self.jobs)

    def add(self, job: HeldJob) -> None:
        replaced = self.jobs.get(job.id)
        if replaced is not None:
            self._release(replaced)
        self.jobs[job.id] = job
        for deliverable in job.deliverables or ():
            self.deliverables[deliverable.id] = deliverable
        for ref in (job.stdout_ref, job.stderr_ref):
            if ref is not None:
                self._pack_users[ref[0]] += 1
        heapq.heappush(self._by_end, (job.end_date or job.enqueue_date, job.id))

    def new_pack(self, sender: str) -> LogPack:
        return LogPack(self.packs, f"{sender}-{time.time_ns()}.pack")

    def log(self, job: HeldJob, stream: str) -> bytes:
        """The kept part of a held job's stdout or stderr (empty if it had none)."""
        ref = job.stdout_ref if stream == "stdout" else job.stderr_ref
        if ref is None:
            return b""
        name, offset, length = ref
        fd = os.open(self.packs / name, os.O_RDONLY)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    def _release(self, job: HeldJob) -> None:
        """Forgets the job's logs; removes a log pack no held job uses any more."""
        for ref in (job.stdout_ref, job.stderr_ref):
            if ref is None:
                continue
            self._pack_users[ref[0]] -= 1
            if self._pack_users[ref[0]] <= 0:
                del self._pack_users[ref[0]]
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.packs / ref[0])

    def add_range(self, owner: str, lo: int, hi: int) -> None:
        self.ranges.setdefault(owner, []).append((lo, hi))

    def holds_range_of(self, object_id: int) -> bool:
        """True when ``object_id`` (a job or deliverable ID) is in a range handed over to this node."""
        if object_id >= 2**32 * BLOCK_SIZE:
            return False
        n = offset_of(object_id)
        return any(lo <= n < hi for lo, hi in self.ranges.get(ip_from_id(object_id), ()))

    def sort(self) -> None:
        """Puts the records in ID order (list and query answers rely on it), after a handover."""
        self.jobs = dict(sorted(self.jobs.items()))

    def in_id_order(self) -> Iterator[HeldJob]:
        return iter(self.jobs.values())

    def range_list(self) -> dict[str, list[tuple[int, int]]]:
        owners = sorted(self.ranges, key=ip_to_uint32)
        return {owner: sorted(self.ranges[owner]) for owner in owners}

    def expire(self, now: float | None = None) -> list[int]:
        """Drops the records past retention (and their logs); returns their IDs."""
        now = time.time() if now is None else now
        dropped: list[int] = []
        while self._by_end:
            ended, job_id = self._by_end[0]
            too_many = self.max_jobs > 0 and len(self.jobs) > self.max_jobs
            too_old = self.max_age > 0 and ended < now - self.max_age
            if job_id not in self.jobs:
                heapq.heappop(self._by_end)  # already gone (received twice)
                continue
            if not (too_many or too_old):
                break
            heapq.heappop(self._by_end)
            job = self.jobs.pop(job_id)
            for deliverable in job.deliverables or ():
                self.deliverables.pop(deliverable.id, None)
            self._release(job)
            dropped.append(job_id)
        self.expired_total += len(dropped)
        return dropped

    def retention_text(self) -> str:
        parts = []
        if self.max_jobs:
            parts.append(f"the {self.max_jobs} most recent jobs")
        if self.max_age:
            parts.append(f"{self.max_age:g}s after their end")
        return " and ".join(parts) if parts else "no limit"
