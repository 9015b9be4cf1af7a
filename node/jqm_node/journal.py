"""The journal: an append-only file in the work directory from which a restarted node gets its jobs back.

Every change of a job is written (one ``os.write``, no fsync) before the node acknowledges it: the
file then survives a crash or a kill of the node process (the operating system still writes it),
not a crash of the machine's kernel. One compact JSON list per line; the last record of a job wins:

=======  ==============================================================
``N``    format version (first line)
``B``    ``lo, hi``: a block of offsets reserved in the ID ledger
``J``    a job of this node, all fields (:mod:`jqm_node.records`), then the pid of its process if running
``-``    ``id``: a job deleted (waiting job deleted, crashed job restarted), own or held
``H``    ``origin ip, origin node``, fields, log references: a job of another node held since a handover
``R``    ``owner ip, lo, hi``: offsets of another node whose history was handed over to this one
``E``    ``id``: a held job expired (retention)
``V``    ``from, jobs, notRun, at``: a handover received
=======  ==============================================================

At start the node reads the journal, rebuilds its jobs, then rewrites the file with one record per
living thing (compaction), so the journal never grows across restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from jqm_node.model import HeldJob, JobInstance
from jqm_node.records import FIELDS_BY_VERSION, job_to_fields

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"
FORMAT_VERSION = 2
"""2: job records end with ``fromSchedule``; version 1 journals are read too."""

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
"""One encoder for every record: ``json.dumps`` with options builds a new encoder per call."""


class JobJournal(Protocol):
    """What the engine records."""

    def job(self, job: JobInstance, pid: int | None = None) -> bool:
        """Records the job as it is now (``pid``: of its running process); False when it could not be
        written (the cause is logged)."""
        ...

    def removed(self, job_id: int) -> None: ...


class NoJournal:
    """``JQM_JOURNAL=off``: nothing is recorded, a restarted node starts empty."""

    def job(self, job: JobInstance, pid: int | None = None) -> bool:
        return True

    def removed(self, job_id: int) -> None:
        return None


@dataclass(slots=True)
class JournalContent:
    """What a journal holds once replayed: the last record of everything."""

    lineage: list[tuple[int, int]] = field(default_factory=list)
    jobs: dict[int, list[Any]] = field(default_factory=dict)
    held: dict[int, tuple[str, str, list[Any]]] = field(default_factory=dict)
    held_ranges: list[tuple[str, int, int]] = field(default_factory=list)
    handovers: list[list[Any]] = field(default_factory=list)
    damaged: int = 0
    job_fields: int = FIELDS_BY_VERSION[FORMAT_VERSION]
    """How many fields its job records have (its format version says): the pid or log references follow."""


def read_journal(path: Path) -> JournalContent:
    """Replays the journal at ``path`` (none: empty). A line that cannot be read (the last one, torn by
    a crash in the middle of a write, or a damaged one) is counted and skipped."""
    content = JournalContent()
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return content
    with stream:
        for line in stream:
            try:
                record = json.loads(line)
                _apply(content, record)
            except (ValueError, TypeError, IndexError, KeyError):
                content.damaged += 1
    if content.damaged:
        log.warning("journal %s: %d damaged line(s) skipped", path, content.damaged)
    return content


def _apply(content: JournalContent, record: list[Any]) -> None:
    kind = record[0]
    if kind == "J":
        content.jobs[int(record[1])] = record[1:]
    elif kind == "-":
        content.jobs.pop(int(record[1]), None)
        content.held.pop(int(record[1]), None)
    elif kind == "B":
        content.lineage.append((int(record[1]), int(record[2])))
    elif kind == "H":
        content.held[int(record[3])] = (str(record[1]), str(record[2]), record[3:])
    elif kind == "E":
        content.held.pop(int(record[1]), None)
    elif kind == "R":
        content.held_ranges.append((str(record[1]), int(record[2]), int(record[3])))
    elif kind == "V":
        content.handovers.append(record[1:])
    elif kind == "N":
        content.job_fields = FIELDS_BY_VERSION[int(record[1])]
    else:
        raise ValueError(f"unknown record kind {kind!r}")


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.records_written = 0
        self.bytes = 0
        self.errors = 0
        self.last_error: str | None = None
        self.discarded = False

    def open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.bytes = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Removes the journal (its jobs were handed over): a later start in this work dir begins empty,
        and nothing is recorded any more."""
        self.discarded = True
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # ------------------------------------------------------------------------------ records

    def job(self, job: JobInstance, pid: int | None = None) -> bool:
        record = ["J", *job_to_fields(job)]
        if pid:
            record.append(pid)
        return self._append(record)

    def removed(self, job_id: int) -> None:
        self._append(["-", job_id])

    def block(self, lo: int, hi: int) -> None:
        self._append(["B", lo, hi])

    def held(self, job: HeldJob, origin_ip: str) -> bool:
        return self._append(held_record(job, origin_ip))

    def held_range(self, owner: str, lo: int, hi: int) -> None:
        self._append(["R", owner, lo, hi])

    def expired(self, job_id: int) -> None:
        self._append(["E", job_id])

    def handover(self, summary: list[Any]) -> None:
        self._append(["V", *summary])

    def _append(self, record: list[Any]) -> bool:
        if self.discarded:
            return True
        data = (_encode(record) + "\n").encode()
        try:
            if self._fd is None:
                raise OSError("the journal is not open")
            os.write(self._fd, data)
        except OSError as e:
            self.errors += 1
            if self.last_error is None:
                log.error("cannot write the journal %s: %s", self.path, e)
            self.last_error = str(e)
            return False
        self.last_error = None
        self.records_written += 1
        self.bytes += len(data)
        return True

    # ------------------------------------------------------------------------------ compaction

    def rewrite(self, records: Iterable[list[Any]]) -> None:
        """Replaces the whole journal by ``records`` (after ``N``), atomically, and reopens it for appends."""
        self.close()
        temporary = self.path.with_name(self.path.name + ".compacting")
        with open(temporary, "wb") as out:
            out.write(json.dumps(["N", FORMAT_VERSION]).encode() + b"\n")
            for record in records:
                out.write((_encode(record) + "\n").encode())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self.open()


def held_record(job: HeldJob, origin_ip: str) -> list[Any]:
    """``H``, origin, fields, then where its stdout and stderr are kept (log pack references)."""
    return ["H", origin_ip, job.origin_node, *job_to_fields(job), job.stdout_ref, job.stderr_ref]
