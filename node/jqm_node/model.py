"""The objects of a JQM node: queues, job definitions, job instances and deliverables.

Job instances use ``__slots__`` and share every value they can (definition, queue, parameter maps
without overrides) because a node keeps up to a million of them in memory until it restarts.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "SUBMITTED"
    ATTRIBUTED = "ATTRIBUTED"
    RUNNING = "RUNNING"
    CRASHED = "CRASHED"
    ENDED = "ENDED"
    KILLED = "KILLED"
    """Upstream's enum still names it, but no job ends KILLED (upstream 3: "Killed jobs now consistently
    report as CRASHED. KILLED is no longer a job status"): a query may name it and finds nothing."""
    HOLDED = "HOLDED"
    CANCELLED = "CANCELLED"
    SCHEDULED = "SCHEDULED"


WAITING_STATES = frozenset({State.SUBMITTED, State.HOLDED, State.SCHEDULED})
ACTIVE_STATES = WAITING_STATES | {State.ATTRIBUTED, State.RUNNING}
FINAL_STATES = frozenset({State.CRASHED, State.ENDED, State.CANCELLED})


class PathType(StrEnum):
    DEFAULTSHELLCOMMAND = "DEFAULTSHELLCOMMAND"
    DIRECTEXECUTABLE = "DIRECTEXECUTABLE"
    POWERSHELLCOMMAND = "POWERSHELLCOMMAND"


class QueueStatus(StrEnum):
    RUNNING = "RUNNING"
    PARTIALLY_RUNNING = "PARTIALLY_RUNNING"
    PAUSED = "PAUSED"


@dataclass(slots=True, eq=False)
class Queue:
    id: int
    name: str
    description: str = ""
    max_threads: int = 10
    enabled: bool = True
    default: bool = False
    running: int = 0

    @property
    def free_slots(self) -> int:
        return self.max_threads - self.running if self.enabled else 0


@dataclass(slots=True, eq=False)
class JobDefinition:
    id: int
    name: str
    path: str
    path_type: PathType = PathType.DEFAULTSHELLCOMMAND
    description: str = ""
    queue_name: str | None = None
    can_be_restarted: bool = True
    highlander: bool = False
    max_time_running: int = 0
    """Minutes; a job running longer is killed. 0 means no limit."""
    application: str | None = None
    module: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    priority: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    parameters_as_shell_code: bool = False
    """Upstream's raw mode: parameter values pasted into the shell command line (they are code there)."""


@dataclass(slots=True, eq=False)
class Deliverable:
    id: int
    job_id: int
    path: str
    """Absolute path of the stored file."""
    file_family: str
    original_name: str


@dataclass(slots=True, eq=False)
class JobInstance:
    id: int
    definition: JobDefinition
    queue: Queue
    state: State
    rank: float
    """Order inside the queue among equal priorities; lower goes first (a move between two jobs halves)."""
    enqueue_date: float
    priority: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    parent_id: int | None = None
    user: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    module: str | None = None
    email: str | None = None
    application: str | None = None
    run_after: float | None = None
    from_schedule: bool = False
    """Enqueued with a run-after date (upstream's ``fromSchedule``); a later delay does not change it."""
    began_date: float | None = None
    end_date: float | None = None
    progress: int | None = None
    messages: list[str] | None = None
    deliverables: list[Deliverable] | None = None

    def add_message(self, text: str) -> None:
        if self.messages is None:
            self.messages = []
        self.messages.append(text)


@dataclass(slots=True, eq=False)
class HeldJob(JobInstance):
    """A finished job of another node, whose history this node holds since that node left (handover)."""

    origin_node: str = ""
    """The name of the node the job ran on (``nodeName``)."""
    stdout_ref: tuple[str, int, int] | None = None
    """Where its stdout is kept: (log pack name, offset, length); None when empty."""
    stderr_ref: tuple[str, int, int] | None = None


def ran_on(job: JobInstance, local_node: str) -> str:
    """The name of the node a job ran on: ``local_node`` for this node's jobs, the original one for held jobs."""
    return job.origin_node if isinstance(job, HeldJob) else local_node


@dataclass(slots=True)
class JobRequest:
    """What a client asks to enqueue (upstream JobRequest, minus schedules)."""

    application_name: str
    user: str | None = None
    module: str | None = None
    email: str | None = None
    keyword1: str | None = None
    keyword2: str | None = None
    keyword3: str | None = None
    parent_id: int | None = None
    session_id: str | None = None
    trace_id: str | None = None
    application: str | None = None
    queue_name: str | None = None
    priority: int | None = None
    run_after: float | None = None
    start_state: State | None = None
    parameters: dict[str, str] = field(default_factory=dict)
