"""The engine: the in-memory store of job instances, event-driven dispatch and state transitions.

Store design: one dict ``id -> JobInstance`` holds every job of this node's life (waiting, running
and finished: a node is restarted before its millionth ID, so history is bounded), plus one heap
per queue of ``(-priority, rank, id)`` for the jobs waiting there and one heap of run-after dates.
Heap entries are never removed in place: an entry whose job no longer matches it (started,
cancelled, re-prioritised) is skipped when popped. Dispatch runs when something frees or fills a
slot (enqueue, job end, resume, a run-after date), never on a polling interval.

The store is private: callers read jobs through :meth:`Engine.find`, :meth:`Engine.get` and
:meth:`Engine.in_id_order`, and the counters through :meth:`Engine.counters`. Every change to the
store goes through :meth:`Engine._store`, :meth:`Engine._drop`, :meth:`Engine._move` and
:meth:`Engine._set_state`, which keep the per-queue, per-state counters that ``/metrics`` and
``/node/status`` read in O(1); state changes are recorded in the journal (:mod:`jqm_node.journal`)
before anything is acknowledged. Reads fall back to the history this node holds for nodes that left
(:mod:`jqm_node.history`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import NoReturn

from jqm_node.errors import (
    BadRequestError,
    DeleteNotFoundError,
    GoneError,
    InvalidEnqueueError,
    NotFoundError,
    UnavailableError,
)
from jqm_node.history import HeldHistory
from jqm_node.ids import IdAllocator, IdsExhaustedError, IdSource, IdsUnavailableError, ip_from_id
from jqm_node.journal import JobJournal, NoJournal
from jqm_node.model import (
    ACTIVE_STATES,
    FINAL_STATES,
    WAITING_STATES,
    Deliverable,
    HeldJob,
    JobDefinition,
    JobInstance,
    JobRequest,
    Queue,
    QueueStatus,
    State,
)
from jqm_node.runner import JobRunner, Outcome, RunningJob
from jqm_node.workspace import Workspace

log = logging.getLogger(__name__)

SIGTERM_DRAIN_REASON = "sigterm"
"""``drainReason`` of a node draining because it got SIGTERM."""


@dataclass(frozen=True, slots=True)
class Counters:
    """The engine's counters at one moment (what ``/metrics`` and ``/node/status`` report)."""

    by_queue_and_state: Mapping[tuple[str, State], int]
    """This node's jobs (not the history it holds for others) by queue name and state."""
    running: int
    """Job processes running."""
    enqueued: int
    """Jobs created since the node started."""

    def total(self, states: Iterable[State] = State) -> int:
        wanted = frozenset(states)
        return sum(n for (_, state), n in self.by_queue_and_state.items() if state in wanted)


class Engine:
    # Slots: reads of the engine's state sit on every request's path (a waiting job's position reads the
    # store once per job ahead of it), and a slot is read at the same speed however many there are.
    __slots__ = (
        "_accept_until", "_changed", "_deliverables", "_enqueued", "_idle", "_ids", "_in_id_order", "_jobs",
        "_next_rank", "_queues_by_id", "_ready", "_runner", "_running", "_running_highlanders", "_scheduled",
        "_scheduled_timer", "_state_counts", "default_queue", "definitions", "drain_reason", "draining", "history",
        "ip", "journal", "node_name", "on_finished", "queues", "shutting_down", "stopping",
    )  # fmt: skip

    def __init__(
        self,
        *,
        ip: str,
        node_name: str,
        queues: list[Queue],
        definitions: list[JobDefinition],
        runner: JobRunner,
        id_limit: int,
        ids: IdSource | None = None,
        journal: JobJournal | None = None,
        history: HeldHistory | None = None,
    ) -> None:
        self.ip = ip
        self.node_name = node_name
        self._ids: IdSource = ids if ids is not None else IdAllocator(ip, id_limit)
        """Job, deliverable and input file IDs all come from here: one ID never names two things."""
        self.journal: JobJournal = journal if journal is not None else NoJournal()
        self.history = (
            history if history is not None else HeldHistory(workspace=runner.workspace, max_jobs=0, max_age=0)
        )
        self.queues = {q.name: q for q in queues}
        self._queues_by_id = {q.id: q for q in queues}
        self.default_queue = next(q for q in queues if q.default)
        self.definitions = {jd.name: jd for jd in definitions}
        for number, jd in enumerate(definitions, start=1):
            jd.id = number
        self._runner = runner
        self._jobs: dict[int, JobInstance] = {}
        self._in_id_order = True
        """False once a job was stored after one of a higher ID: :meth:`in_id_order` sorts the store then."""
        self._deliverables: dict[int, Deliverable] = {}
        self._running: dict[int, RunningJob] = {}
        self._state_counts: Counter[tuple[str, State]] = Counter()
        self._enqueued = 0
        self.on_finished: list[Callable[[JobInstance], None]] = []
        """Called with each job that has just reached a final state (``/metrics`` counts them)."""
        self.draining = False
        self.drain_reason: str | None = None
        self._accept_until = 0.0
        self.shutting_down = False
        """True from SIGTERM on: the node drains for good and exits (``stopping`` in ``/node/status``)."""
        self.stopping = False
        """True once the node starts no job any more (the last steps of a shutdown)."""
        self._ready: dict[int, list[tuple[int, float, int]]] = {q.id: [] for q in queues}
        self._scheduled: list[tuple[float, int]] = []
        self._scheduled_timer: asyncio.TimerHandle | None = None
        self._next_rank = 0.0
        self._running_highlanders: set[int] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ health and counters

    @property
    def accepting(self) -> bool:
        """True while enqueues are taken: until a drain's accept window closes, never while stopping."""
        if self.stopping:
            return False
        return not self.draining or time.monotonic() < self._accept_until

    @property
    def dispatching(self) -> bool:
        """True while the node takes new work: what the health URL reports."""
        return self.not_dispatching_reason() is None

    def not_dispatching_reason(self) -> str | None:
        """Why the node takes no new work (draining, stopping, no ID to hand out), or None."""
        if self.draining:
            return "draining"
        if self.stopping:
            return "stopping"
        return self._ids.unavailable_reason()

    def counters(self) -> Counters:
        return Counters(
            by_queue_and_state=dict(self._state_counts), running=len(self._running), enqueued=self._enqueued
        )

    # ------------------------------------------------------------------ enqueue

    def definition(self, name: str) -> JobDefinition:
        try:
            return self.definitions[name]
        except KeyError:
            raise InvalidEnqueueError(f"no job definition named {name}") from None

    def queue(self, name: str) -> Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise InvalidEnqueueError(f"Requested queue {name} does not exist") from None

    def queue_by_id(self, queue_id: int) -> Queue:
        try:
            return self._queues_by_id[queue_id]
        except KeyError:
            raise NotFoundError(f"no queue with ID {queue_id}") from None

    def enqueue(self, request: JobRequest) -> JobInstance:
        """Creates a job instance, or returns the waiting one of a highlander definition."""
        if not self.accepting:
            raise UnavailableError("this node is draining or stopping and takes no new job; retry on another node")
        if not request.application_name or not request.application_name.strip():
            raise InvalidEnqueueError("Invalid execution request: applicationName is empty")
        jd = self.definition(request.application_name)
        if jd.highlander:
            waiting = self._waiting_highlander(jd)
            if waiting is not None:
                return waiting
        queue = self.queue(request.queue_name) if request.queue_name else self._definition_queue(jd)
        if request.start_state not in (None, State.SUBMITTED, State.HOLDED):
            raise InvalidEnqueueError("startState may only be SUBMITTED or HOLDED")
        job_id = self._new_id()
        # Jobs without request parameters share their definition's map: a million jobs, one dict.
        parameters = {**jd.parameters, **request.parameters} if request.parameters else jd.parameters
        priority = request.priority if request.priority is not None else (jd.priority or 0)
        if request.run_after is not None and request.run_after > time.time():
            state = State.SCHEDULED
        elif request.start_state is State.HOLDED:
            state = State.HOLDED
        else:
            state = State.SUBMITTED
        job = JobInstance(
            id=job_id,
            definition=jd,
            queue=queue,
            state=state,
            rank=self._take_rank(),
            enqueue_date=time.time(),
            priority=priority,
            parameters=parameters,
            parent_id=request.parent_id,
            user=request.user,
            session_id=request.session_id,
            trace_id=request.trace_id,
            keyword1=request.keyword1,
            keyword2=request.keyword2,
            keyword3=request.keyword3,
            module=request.module,
            email=request.email,
            application=request.application if request.application is not None else jd.application,
            run_after=request.run_after,
            from_schedule=request.run_after is not None,
        )
        if not self.journal.job(job):
            raise UnavailableError(
                "this node cannot write its journal (see its log); it refuses new jobs rather than lose them"
            )
        self._store(job)
        self._enqueued += 1
        if state is State.SCHEDULED:
            self._schedule(job)
        elif state is State.SUBMITTED:
            self._make_ready(job)
        return job

    def _new_id(self) -> int:
        try:
            return self._ids.next_id()
        except (IdsExhaustedError, IdsUnavailableError) as e:
            raise UnavailableError(str(e)) from None

    def enqueue_from_history(self, job_id: int) -> JobInstance:
        """A new job with the same request as an existing one (upstream: enqueue from history)."""
        return self.enqueue(self.request_of(self.get(job_id)))

    @staticmethod
    def request_of(job: JobInstance) -> JobRequest:
        return JobRequest(
            application_name=job.definition.name,
            user=job.user,
            module=job.module,
            email=job.email,
            keyword1=job.keyword1,
            keyword2=job.keyword2,
            keyword3=job.keyword3,
            parent_id=job.parent_id,
            session_id=job.session_id,
            application=job.application,
            parameters=dict(job.parameters),
        )

    def _definition_queue(self, jd: JobDefinition) -> Queue:
        if jd.queue_name and jd.queue_name in self.queues:
            return self.queues[jd.queue_name]
        return self.default_queue

    def _waiting_highlander(self, jd: JobDefinition) -> JobInstance | None:
        for _, _, job_id in self._ready[self._definition_queue(jd).id]:
            job = self._jobs.get(job_id)
            if job is not None and job.definition is jd and job.state is State.SUBMITTED:
                return job
        return None

    def _take_rank(self) -> float:
        self._next_rank += 1
        return self._next_rank

    # ------------------------------------------------------------------ reads

    def get(self, job_id: int) -> JobInstance:
        """A job of this node, or one it holds for a node that left; 410 for a held one that expired."""
        job = self.find(job_id)
        if job is None:
            self._absent(job_id, "job instance")
        return job

    def deliverable(self, deliverable_id: int) -> Deliverable:
        item = self._deliverables.get(deliverable_id) or self.history.deliverables.get(deliverable_id)
        if item is None:
            self._absent(deliverable_id, "deliverable")
        return item

    def _absent(self, object_id: int, what: str) -> NoReturn:
        if self.history.holds_range_of(object_id):
            raise GoneError(
                f"No {what} of ID {object_id} any more: its node {ip_from_id(object_id)} left the cluster and its "
                f"history has expired (this node keeps {self.history.retention_text()}) or was never handed over"
            )
        raise NotFoundError(f"No {what} of ID {object_id}")

    def find(self, job_id: int) -> JobInstance | None:
        """The job of this ID in the store or held history, or None."""
        return self._jobs.get(job_id) or self.history.jobs.get(job_id)

    @property
    def workspace(self) -> Workspace:
        """Where the node keeps job logs and files."""
        return self._runner.workspace

    def is_running(self, job_id: int) -> bool:
        return job_id in self._running

    def in_id_order(self) -> Iterator[JobInstance]:
        """Every job of the store and of the held history, by ID (the store is kept in ID order: IDs only
        grow, and it is sorted again on the rare occasion one did not)."""
        if not self._in_id_order:
            self._jobs = dict(sorted(self._jobs.items()))
            self._in_id_order = True
        if not self.history.jobs:
            return iter(self._jobs.values())
        return heapq.merge(self._jobs.values(), self.history.in_id_order(), key=lambda job: job.id)

    def knows(self, object_id: int) -> bool:
        """True when a job or deliverable of this ID is in this node's store or held history."""
        return (
            object_id in self._jobs
            or object_id in self._deliverables
            or object_id in self.history.jobs
            or object_id in self.history.deliverables
        )

    def positions(self, queue: Queue) -> dict[int, int]:
        """1-based rank of every job waiting (SUBMITTED) in ``queue``, in dispatch order."""
        waiting = sorted(entry for entry in self._ready[queue.id] if self._is_current(entry))
        return {job_id: position for position, (_, _, job_id) in enumerate(waiting, start=1)}

    def position(self, job: JobInstance) -> int:
        """1-based rank of one waiting (SUBMITTED) job in its queue, 0 for any other job: O(waiting jobs)."""
        if job.state is not State.SUBMITTED:
            return 0
        mine = (-job.priority, job.rank, job.id)
        ahead = sum(1 for entry in self._ready[job.queue.id] if entry < mine and self._is_current(entry))
        return ahead + 1

    def queue_status(self, queue: Queue) -> QueueStatus:
        return QueueStatus.RUNNING if queue.enabled else QueueStatus.PAUSED

    # ------------------------------------------------------------------ dispatch

    def _make_ready(self, job: JobInstance) -> None:
        if job.state is not State.SUBMITTED:
            self._set_state(job, State.SUBMITTED)
        heapq.heappush(self._ready[job.queue.id], (-job.priority, job.rank, job.id))
        self._dispatch(job.queue)

    def _is_current(self, entry: tuple[int, float, int]) -> bool:
        """False for a heap entry left behind by a start, cancel, re-prioritisation or move."""
        neg_priority, rank, job_id = entry
        job = self._jobs.get(job_id)
        return job is not None and job.state is State.SUBMITTED and job.priority == -neg_priority and job.rank == rank

    def _dispatch(self, queue: Queue) -> None:
        """Starts waiting jobs of ``queue`` while it has free slots."""
        if self.stopping:
            return
        heap = self._ready[queue.id]
        blocked: list[tuple[int, float, int]] = []
        while heap and queue.free_slots > 0:
            entry = heapq.heappop(heap)
            if not self._is_current(entry) or self._jobs[entry[2]].queue is not queue:
                continue
            job = self._jobs[entry[2]]
            if job.definition.highlander and job.definition.id in self._running_highlanders:
                blocked.append(entry)
                continue
            self._start(job)
        for entry in blocked:
            heapq.heappush(heap, entry)

    def _start(self, job: JobInstance) -> None:
        job.queue.running += 1
        if job.definition.highlander:
            self._running_highlanders.add(job.definition.id)
        self._set_state(job, State.ATTRIBUTED)
        self._idle.clear()
        running = self._runner.start(job, self._on_exit)
        job.began_date = time.time()  # the process exists now
        self._running[job.id] = running
        self._set_state(job, State.RUNNING, pid=running.pid)

    def _on_exit(self, running: RunningJob, outcome: Outcome) -> None:
        job = running.job
        del self._running[job.id]
        job.queue.running -= 1
        job.end_date = time.time()
        if job.definition.highlander:
            self._running_highlanders.discard(job.definition.id)
        if outcome.reason:
            job.add_message(outcome.reason)
        if outcome.killed:
            final = State.CRASHED  # upstream: "Killed jobs now consistently report as CRASHED"
        elif outcome.exit_code == 0:
            final = State.ENDED
            self._collect_deliverables(job)
        else:
            final = State.CRASHED
            if outcome.exit_code < 0:
                job.add_message(f"Ended by signal {-outcome.exit_code}")
        self._runner.workspace.purge_job(job.id)
        self._set_state(job, final)
        log.debug("job %s (%s) ended: %s, exit code %s", job.id, job.definition.name, final, outcome.exit_code)
        if not self._running:
            self._idle.set()
        self._dispatch(job.queue)

    def _collect_deliverables(self, job: JobInstance) -> None:
        try:
            collected = self._runner.workspace.collect_deliveries(job.id)
        except OSError as e:
            log.error("job %s: could not collect its deliverables: %s", job.id, e)
            job.add_message(f"Could not collect deliverables: {e}")
            return
        for stored, original in collected:
            try:
                deliverable_id = self._ids.next_id()
            except (IdsExhaustedError, IdsUnavailableError) as e:
                log.error("job %s: deliverable %s kept on disk without an ID: %s", job.id, stored, e)
                job.add_message(f"Deliverable {original} could not be registered: {e}")
                continue
            deliverable = Deliverable(
                id=deliverable_id,
                job_id=job.id,
                path=str(stored),
                file_family=PurePath(original).name,  # upstream: the file's name (ShellJobInstanceTracker)
                original_name=original,
            )
            self._deliverables[deliverable.id] = deliverable
            if job.deliverables is None:
                job.deliverables = []
            job.deliverables.append(deliverable)

    # ------------------------------------------------------------------ the store: every change goes through here

    def _store(self, job: JobInstance) -> None:
        if self._jobs and job.id < next(reversed(self._jobs)):  # the last stored
            self._in_id_order = False
        self._jobs[job.id] = job
        self._state_counts[(job.queue.name, job.state)] += 1

    def _drop(self, job: JobInstance) -> None:
        del self._jobs[job.id]
        self._state_counts[(job.queue.name, job.state)] -= 1

    def _move(self, job: JobInstance, queue: Queue) -> None:
        self._state_counts[(job.queue.name, job.state)] -= 1
        self._state_counts[(queue.name, job.state)] += 1
        job.queue = queue

    def _set_state(self, job: JobInstance, state: State, *, pid: int | None = None) -> None:
        counts = self._state_counts
        counts[(job.queue.name, job.state)] -= 1
        counts[(job.queue.name, state)] += 1
        job.state = state
        if state is not State.ATTRIBUTED:  # lasts no longer than the spawn call
            self.journal.job(job, pid)
        if state in FINAL_STATES:
            for listener in self.on_finished:
                listener(job)
        self._changed.set()

    # ------------------------------------------------------------------ run-after dates

    def _schedule(self, job: JobInstance) -> None:
        assert job.run_after is not None
        heapq.heappush(self._scheduled, (job.run_after, job.id))
        self._arm_scheduled_timer()

    def _arm_scheduled_timer(self) -> None:
        if self._scheduled_timer is not None:
            self._scheduled_timer.cancel()
            self._scheduled_timer = None
        if self._scheduled:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._scheduled[0][0] - time.time())
            self._scheduled_timer = loop.call_later(delay, self._release_due)

    def _release_due(self) -> None:
        self._scheduled_timer = None
        now = time.time()
        while self._scheduled and self._scheduled[0][0] <= now:
            run_after, job_id = heapq.heappop(self._scheduled)
            job = self._jobs.get(job_id)
            if job is not None and job.state is State.SCHEDULED and job.run_after == run_after:
                self._make_ready(job)
        self._arm_scheduled_timer()

    # ------------------------------------------------------------------ job instructions

    def cancel(self, job_id: int) -> JobInstance:
        job = self.get(job_id)
        if job.state not in WAITING_STATES:
            raise BadRequestError("the job is already running, has already finished or never existed to begin with")
        job.end_date = time.time()
        self._set_state(job, State.CANCELLED)
        return job

    def delete_waiting(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            raise DeleteNotFoundError(f"No job instance of ID {job_id}")
        if job.state not in WAITING_STATES:
            raise BadRequestError("An attempt was made to delete a job instance that was already running or done")
        self._drop(job)
        self.journal.removed(job_id)

    def kill(self, job_id: int) -> JobInstance:
        """Cancels a waiting job; asks a running one to stop (SIGTERM, then SIGKILL)."""
        job = self.get(job_id)
        if job.state in WAITING_STATES:
            return self.cancel(job_id)
        running = self._running.get(job_id)
        if running is None:
            raise BadRequestError("Job instance does not exist or has already finished")
        job.add_message("Kill attempt on the job")
        self.journal.job(job)
        self._runner.kill(running)
        return job

    def pause_waiting(self, job_id: int) -> JobInstance:
        job = self.get(job_id)
        if job.state not in (State.SUBMITTED, State.SCHEDULED):
            raise BadRequestError("An attempt was made to pause a job instance that was already running or done")
        self._set_state(job, State.HOLDED)
        return job

    def resume_waiting(self, job_id: int) -> JobInstance:
        job = self.get(job_id)
        if job.state is not State.HOLDED:
            raise BadRequestError("An attempt was made to resume a job instance that was not paused")
        if job.run_after is not None and job.run_after > time.time():
            self._set_state(job, State.SCHEDULED)
            self._schedule(job)
        else:
            self._make_ready(job)
        return job

    def pause_running(self, job_id: int) -> JobInstance:
        """Suspends the job's whole process group (SIGSTOP); its state stays RUNNING, as upstream."""
        job = self.get(job_id)
        running = self._running.get(job_id)
        if running is None or not self._runner.pause(running):
            raise BadRequestError("An attempt was made to pause a job instance that is not running or already paused")
        job.add_message("Paused")
        self.journal.job(job)
        return job

    def resume_running(self, job_id: int) -> JobInstance:
        job = self.get(job_id)
        running = self._running.get(job_id)
        if running is None or not self._runner.resume(running):
            raise BadRequestError("An attempt was made to resume a job instance that is not running or not paused")
        job.add_message("Resumed")
        self.journal.job(job)
        return job

    def restart_crashed(self, job_id: int) -> JobInstance:
        """Enqueues a crashed job again; the crashed instance leaves the history, as upstream."""
        job = self.get(job_id)
        if job.state is not State.CRASHED:
            raise BadRequestError("You cannot restart a job that has not crashed")
        if not job.definition.can_be_restarted:
            raise BadRequestError(f"The job definition {job.definition.name} does not allow restarts")
        restarted = self.enqueue(self.request_of(job))
        if isinstance(job, HeldJob):
            self.history.jobs.pop(job_id, None)
        else:
            self._drop(job)
        self.journal.removed(job_id)
        return restarted

    def set_priority(self, job_id: int, priority: int) -> JobInstance:
        job = self.get(job_id)
        if job.state not in ACTIVE_STATES:
            raise BadRequestError("Job instance has already ended")
        job.priority = priority
        self.journal.job(job)
        self._requeue_if_waiting(job)
        return job

    def set_position(self, job_id: int, position: int) -> JobInstance:
        """Moves a waiting job to the 1-based ``position`` of its queue's arrival order.

        Priority still goes first: among jobs of equal priority the new position holds.
        """
        job = self.get(job_id)
        if job.state is not State.SUBMITTED:
            raise BadRequestError("Job does not exist or is already running.")
        ranks = sorted(self._jobs[i].rank for i in self.positions(job.queue) if i != job_id)
        index = min(max(position, 1), len(ranks) + 1) - 1
        if not ranks:
            job.rank = self._take_rank()
        elif index == 0:
            job.rank = ranks[0] - 1
        elif index == len(ranks):
            job.rank = self._take_rank()
        else:
            job.rank = (ranks[index - 1] + ranks[index]) / 2
        self.journal.job(job)
        self._requeue_if_waiting(job)
        return job

    def set_run_after(self, job_id: int, when: float) -> JobInstance:
        job = self.get(job_id)
        if job.state not in WAITING_STATES:
            raise BadRequestError("Job instance does not exist or has already started")
        job.run_after = when
        self.journal.job(job)
        if job.state is not State.HOLDED:
            if when > time.time():
                self._set_state(job, State.SCHEDULED)
                self._schedule(job)
            else:
                self._make_ready(job)
        return job

    def set_queue(self, job_id: int, queue: Queue) -> JobInstance:
        job = self.get(job_id)
        if job.state not in WAITING_STATES:
            raise BadRequestError("Job instance does not exist or has already started")
        self._move(job, queue)
        self.journal.job(job)
        self._requeue_if_waiting(job)
        return job

    def _requeue_if_waiting(self, job: JobInstance) -> None:
        if job.state is State.SUBMITTED:
            heapq.heappush(self._ready[job.queue.id], (-job.priority, job.rank, job.id))
            self._dispatch(job.queue)

    def new_input_file_id(self, job_id: int) -> int:
        """An ID for a file given to a job before it starts (upstream: only while it waits)."""
        job = self.get(job_id)
        if job.state not in WAITING_STATES:
            raise BadRequestError("Job instance is already assigned to a node - cannot add input files")
        return self._new_id()

    # ------------------------------------------------------------------ queue instructions

    def pause_queue(self, queue: Queue) -> None:
        queue.enabled = False

    def resume_queue(self, queue: Queue) -> None:
        queue.enabled = True
        self._dispatch(queue)

    def clear_queue(self, queue: Queue) -> int:
        """Deletes every job waiting in ``queue`` (submitted, held, scheduled), as upstream's
        ``ji_delete_waiting_in_queue_id``: they leave the store as a ``DELETE ji/waiting/{id}`` does.
        Returns how many."""
        waiting = [job.id for job in self._jobs.values() if job.queue is queue and job.state in WAITING_STATES]
        for job_id in waiting:
            self.delete_waiting(job_id)
        return len(waiting)

    # ------------------------------------------------------------------ lifecycle

    def adopt(self, jobs: Iterable[JobInstance]) -> None:
        """Takes jobs recovered from the journal (none running) into the store, queues and timers."""
        for job in sorted(jobs, key=lambda j: j.id):
            self._store(job)
            self._next_rank = max(self._next_rank, job.rank)
            for deliverable in job.deliverables or ():
                self._deliverables[deliverable.id] = deliverable
            if job.state is State.SUBMITTED:
                heapq.heappush(self._ready[job.queue.id], (-job.priority, job.rank, job.id))
            elif job.state is State.SCHEDULED and job.run_after is not None:
                heapq.heappush(self._scheduled, (job.run_after, job.id))
        self._arm_scheduled_timer()
        for queue in self.queues.values():
            self._dispatch(queue)

    def drain(self, *, accept_seconds: float = 0.0, reason: str = "unspecified") -> None:
        """Reports unhealthy at once (the node leaves the load balancer) and refuses new jobs after
        ``accept_seconds``: the time load balancers need to notice, so no client sees a refusal.
        Running and waiting jobs go on. The first drain's ``reason`` stays until an undrain."""
        if not self.draining:
            log.info("draining (%s): unhealthy now, new jobs refused in %ss; running and waiting jobs go on",
                     reason, accept_seconds)  # fmt: skip
            self._accept_until = time.monotonic() + accept_seconds
            self.drain_reason = reason
        self.draining = True

    def drain_for_shutdown(self, *, accept_seconds: float) -> None:
        """Drains because the node got SIGTERM: ``drainReason`` becomes ``sigterm`` whatever drained the
        node before, and the drain is for good (``shutting_down``: an undrain is refused from now on)."""
        self.drain(accept_seconds=accept_seconds, reason=SIGTERM_DRAIN_REASON)
        self.drain_reason = SIGTERM_DRAIN_REASON
        self.shutting_down = True

    def undrain(self) -> None:
        """Takes new work again after a drain (the caller checks the node is not ``shutting_down``)."""
        if self.draining:
            log.info("undrained: taking new jobs again (the drain's reason was %s)", self.drain_reason)
        self.draining = False
        self.drain_reason = None

    def settled(self, *, deadline: float) -> bool:
        """True once nothing can start or run any more before ``deadline`` (epoch seconds): the accept
        window is closed, no job runs, no job waits in an enabled queue, none is due before the deadline."""
        if self.accepting or self._running:
            return False
        for (queue_name, state), count in self._state_counts.items():
            if state is State.SUBMITTED and count and self.queues[queue_name].enabled:
                return False
        for run_after, job_id in self._scheduled:
            job = self._jobs.get(job_id)
            if run_after < deadline and job is not None and job.state is State.SCHEDULED and job.run_after == run_after:
                return False
        return True

    async def wait_settled(self, *, deadline: float) -> None:
        """Returns once :meth:`settled` or at ``deadline`` (epoch seconds), whichever comes first."""
        while (left := deadline - time.time()) > 0 and not self.settled(deadline=deadline):
            self._changed.clear()
            accept_left = self._accept_until - time.monotonic()
            wake_in = min(left, accept_left if accept_left > 0 else left, 1.0)  # 1 s: run-after dates coming due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wake_in)

    async def wait_idle(self) -> None:
        """Returns once no job process is running."""
        await self._idle.wait()

    def stop_dispatching(self) -> None:
        """Takes no new job and starts no waiting one."""
        self.shutting_down = True
        self.stopping = True
        if self._scheduled_timer is not None:
            self._scheduled_timer.cancel()
            self._scheduled_timer = None

    def kill_running(self, reason: str) -> list[int]:
        """Kills every running job (SIGTERM, SIGKILL after the kill grace); they end CRASHED with ``reason``."""
        killed = list(self._running)
        for running in list(self._running.values()):
            running.job.add_message(reason)
            self._runner.kill(running)
        return killed

    def cancel_unstarted(self, reason: str) -> list[int]:
        """Ends every job that never started (waiting, held, scheduled) CANCELLED with ``reason``."""
        cancelled = [job for job in self._jobs.values() if job.state in WAITING_STATES]
        for job in cancelled:
            job.add_message(reason)
            job.end_date = time.time()
            self._set_state(job, State.CANCELLED)
        return [job.id for job in cancelled]
