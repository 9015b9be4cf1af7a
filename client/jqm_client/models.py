"""The objects of JQM's client API as typed, immutable dataclasses.

Names follow upstream's Java client (``com.enioka.jqm.client.api``) in Python spelling. Dates are
timezone-aware ``datetime`` objects in UTC; parameters are plain dictionaries. Nothing here does I/O
or knows the wire format (see :mod:`jqm_client.codec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    """The life cycle of a job instance."""

    SUBMITTED = "SUBMITTED"
    ATTRIBUTED = "ATTRIBUTED"
    RUNNING = "RUNNING"
    CRASHED = "CRASHED"
    ENDED = "ENDED"
    KILLED = "KILLED"
    """In upstream's enum; a killed job ends CRASHED (as upstream since 3.0), only nodes before issue 11 said KILLED."""
    HOLDED = "HOLDED"
    CANCELLED = "CANCELLED"
    SCHEDULED = "SCHEDULED"

    @property
    def is_final(self) -> bool:
        """True once the job can no longer change: ENDED, CRASHED or CANCELLED (or KILLED, from older nodes)."""
        return self in FINAL_STATES


FINAL_STATES = frozenset({State.ENDED, State.CRASHED, State.KILLED, State.CANCELLED})


class QueueStatus(StrEnum):
    RUNNING = "RUNNING"
    PARTIALLY_RUNNING = "PARTIALLY_RUNNING"
    PAUSED = "PAUSED"


class SortColumn(StrEnum):
    """What a :class:`Query` can be sorted by (upstream's ``Query.Sort``)."""

    ID = "ID"
    APPLICATIONNAME = "APPLICATIONNAME"
    QUEUENAME = "QUEUENAME"
    STATUS = "STATUS"
    DATEENQUEUE = "DATEENQUEUE"
    DATEATTRIBUTION = "DATEATTRIBUTION"
    DATEEXECUTION = "DATEEXECUTION"
    DATEEND = "DATEEND"
    USERNAME = "USERNAME"
    PARENTID = "PARENTID"


class LogStream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True, kw_only=True)
class Queue:
    id: int
    name: str
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobInstance:
    """A job instance as the API reports it (every field of upstream's ``JobInstance``)."""

    id: int
    application_name: str
    state: State
    parent: int | None = None
    user: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    position: int | None = None
    priority: int | None = None
    queue: Queue | None = None
    queue_name: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    definition_keyword1: str | None = None
    definition_keyword2: str | None = None
    definition_keyword3: str | None = None
    module: str | None = None
    email: str | None = None
    application: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    progress: int | None = None
    messages: list[str] = field(default_factory=list)
    enqueue_date: datetime | None = None
    began_running_date: datetime | None = None
    end_date: datetime | None = None
    run_after: datetime | None = None
    node_name: str | None = None
    highlander: bool = False
    from_schedule: bool = False


@dataclass(frozen=True, kw_only=True)
class Deliverable:
    """A file a job left in its delivery directory; download it by ``id``."""

    id: int
    file_path: str | None = None
    file_family: str | None = None
    original_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobDef:
    """A job definition (what ``application_name`` names when enqueuing)."""

    id: int | None
    application_name: str
    description: str | None = None
    can_be_restarted: bool = True
    queue: Queue | None = None
    application: str | None = None
    module: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    highlander: bool = False
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class JobRequest:
    """What to enqueue: every field of upstream's ``JobRequest``.

    ``start_held`` is upstream's ``startHeld()`` (the job waits in state HOLDED until resumed).
    ``schedule_id`` and ``recurrence`` exist upstream; a standalone node refuses them (400).
    """

    application_name: str
    parameters: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    application: str | None = None
    module: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    email: str | None = None
    queue_name: str | None = None
    parent_job_id: int | None = None
    schedule_id: int | None = None
    start_held: bool = False
    priority: int | None = None
    run_after: datetime | None = None
    recurrence: str | None = None


@dataclass(frozen=True)
class Sort:
    column: SortColumn
    descending: bool = False


@dataclass(frozen=True, kw_only=True)
class Query:
    """Filters of upstream's ``Query``; ``None`` (or empty) means "no filter".

    String filters match exactly, or as SQL ``LIKE`` patterns when they contain ``%``; an empty
    string matches "no value"; ``-1`` as ``parent_id``/``job_instance_id`` matches "none". By default
    only finished jobs (history) are searched: set ``live=True`` for waiting and running ones.
    ``job_instance_ids`` is this project's extension (a list of IDs).
    """

    job_instance_id: int | None = None
    job_instance_ids: list[int] | None = None
    parent_id: int | None = None
    application_names: list[str] = field(default_factory=list)
    user: str | None = None
    session_id: str | None = None
    job_def_keyword1: str | None = None
    job_def_keyword2: str | None = None
    job_def_keyword3: str | None = None
    job_def_module: str | None = None
    job_def_application: str | None = None
    instance_keyword1: str | None = None
    instance_keyword2: str | None = None
    instance_keyword3: str | None = None
    instance_module: str | None = None
    instance_application: str | None = None
    queue_name: str | None = None
    queue_id: int | None = None
    node_name: str | None = None
    enqueued_before: datetime | None = None
    enqueued_after: datetime | None = None
    began_running_before: datetime | None = None
    began_running_after: datetime | None = None
    ended_before: datetime | None = None
    ended_after: datetime | None = None
    statuses: list[State] = field(default_factory=list)
    live: bool = False
    history: bool = True
    first_row: int = 0
    page_size: int | None = 50
    sort: list[Sort] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class QueryResult:
    """One page of a query: ``total`` is how many jobs match in all.

    ``missing_nodes`` lists the nodes of the cluster that did not answer (the page lacks their jobs).
    """

    instances: list[JobInstance]
    total: int
    missing_nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LogChunk:
    """New bytes of a job's stdout or stderr, as :meth:`JqmClient.follow_logs` yields them."""

    stream: LogStream
    data: bytes
