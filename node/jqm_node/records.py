"""A job instance as a flat JSON list, and back: what the journal and the handover carry.

A list, not an object, because a node writes one per enqueue and per state change: field names
would double the journal's size and cost. The order is fixed (``FIELDS``); a record may be longer
than a reader knows (fields added later at the end are ignored) or shorter (missing ones are None).
Where a record is followed by more data (the journal's pid and log references), the journal's format
version says how many fields its records have (:data:`FIELDS_BY_VERSION`).

Jobs refer to their definition and queue by name. A :class:`Catalog` turns names back into this
node's objects, or into placeholders when this node has no such definition or queue (a definition
removed from the configuration, or a handed-over job of a node configured differently).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

from jqm_node.model import Deliverable, JobDefinition, JobInstance, Queue, State

FIELDS = (
    "id", "definition", "queue", "state", "rank", "enqueueDate", "priority", "parameters", "parent", "user",
    "session", "trace", "keyword1", "keyword2", "keyword3", "module", "email", "application", "runAfter",
    "began", "end", "progress", "messages", "deliverables", "fromSchedule",
)  # fmt: skip
FIELDS_BY_VERSION = {1: FIELDS.index("fromSchedule"), 2: len(FIELDS)}
"""How many fields the job records of each journal format version have."""

J = TypeVar("J", bound=JobInstance)


class RecordError(ValueError):
    """A record that cannot be a job (damaged journal line, bad handover line)."""


def job_to_fields(job: JobInstance) -> list[Any]:
    """The job as a list in ``FIELDS`` order; parameters shared with the definition are written as None,
    ``fromSchedule`` as 1 or 0."""
    shared = job.parameters is job.definition.parameters
    return [
        job.id, job.definition.name, job.queue.name, job.state.value, job.rank, job.enqueue_date, job.priority,
        None if shared else job.parameters, job.parent_id, job.user, job.session_id, job.trace_id,
        job.keyword1, job.keyword2, job.keyword3, job.module, job.email, job.application, job.run_after,
        job.began_date, job.end_date, job.progress, job.messages,
        [[d.id, d.path, d.file_family, d.original_name] for d in job.deliverables] if job.deliverables else None,
        int(job.from_schedule),
    ]  # fmt: skip


class Catalog:
    """This node's definitions and queues by name, with one shared placeholder per unknown name."""

    def __init__(self, definitions: Mapping[str, JobDefinition], queues: Mapping[str, Queue]) -> None:
        self._definitions = dict(definitions)
        self._queues = dict(queues)
        self._placeholders: set[int] = set()

    def definition(self, name: str) -> JobDefinition:
        jd = self._definitions.get(name)
        if jd is None:
            jd = JobDefinition(id=0, name=name, path="", description="not defined on this node", can_be_restarted=False)
            self._definitions[name] = jd
            self._placeholders.add(id(jd))
        return jd

    def queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = Queue(id=0, name=name, description="not defined on this node", max_threads=0, enabled=False)
            self._queues[name] = queue
            self._placeholders.add(id(queue))
        return queue

    def is_placeholder(self, item: JobDefinition | Queue) -> bool:
        return id(item) in self._placeholders


@overload
def job_from_fields(fields: list[Any], catalog: Catalog) -> JobInstance: ...


@overload
def job_from_fields(fields: list[Any], catalog: Catalog, cls: type[J], **extra: Any) -> J: ...


def job_from_fields(
    fields: list[Any], catalog: Catalog, cls: type[JobInstance] = JobInstance, **extra: Any
) -> JobInstance:
    """A job (of ``cls``, with ``extra`` attributes) from ``job_to_fields`` output; RecordError if damaged."""
    f = list(fields[: len(FIELDS)]) + [None] * (len(FIELDS) - len(fields))
    try:
        jd = catalog.definition(_text(f[1]))
        parameters = jd.parameters if f[7] is None else {str(k): str(v) for k, v in dict(f[7]).items()}
        job = cls(
            id=_int(f[0]),
            definition=jd,
            queue=catalog.queue(_text(f[2])),
            state=_state(f[3]),
            rank=float(f[4]),
            enqueue_date=float(f[5]),
            priority=int(f[6] or 0),
            parameters=parameters,
            parent_id=_opt_int(f[8]),
            user=_opt_text(f[9]),
            session_id=_opt_text(f[10]),
            trace_id=_opt_text(f[11]),
            keyword1=_opt_text(f[12]),
            keyword2=_opt_text(f[13]),
            keyword3=_opt_text(f[14]),
            module=_opt_text(f[15]),
            email=_opt_text(f[16]),
            application=_opt_text(f[17]),
            run_after=_opt_float(f[18]),
            began_date=_opt_float(f[19]),
            end_date=_opt_float(f[20]),
            progress=_opt_int(f[21]),
            messages=[str(m) for m in f[22]] if f[22] else None,
            from_schedule=f[24] == 1,
            **extra,
        )
        if f[23]:
            job.deliverables = [
                Deliverable(
                    id=_int(d[0]), job_id=job.id, path=str(d[1]), file_family=str(d[2]), original_name=str(d[3])
                )
                for d in f[23]
            ]
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise RecordError(f"not a job record ({e}): {str(fields)[:200]}") from None
    return job


def _state(value: Any) -> State:
    """A recorded state; KILLED, written by nodes before killed jobs ended CRASHED, is read as CRASHED."""
    state = State(value)
    return State.CRASHED if state is State.KILLED else state


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)
