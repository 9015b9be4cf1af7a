"""Upstream's job query (``QueryBaseImpl``) over a node's store: filters, sort keys and pagination.

One module for local and cluster-wide answers: :func:`run` answers a query from this node's jobs,
and a cluster-wide answer merges the nodes' answers with the same order (:func:`wire_sort_key`, the
JobInstance fields each sort column reads) and the same paging (:func:`page`).

Semantics follow upstream's JDBC client: text filters match exactly, or as SQL ``LIKE`` patterns when
they contain ``%``, and an empty string matches "no value"; an ID filter of -1 matches "none"; "live"
instances are the waiting and running ones, "history" the finished ones (by default only history is
queried); results are sorted by ID unless sorts say otherwise (absent values first when ascending, as
NULLs in HSQLDB), and paginated by ``first_row`` / ``page_size`` (default 50, None: every result).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from jqm_node.engine import Engine
from jqm_node.model import ACTIVE_STATES, FINAL_STATES, JobInstance, State, ran_on

DEFAULT_PAGE_SIZE = 50
"""Upstream's default page (``QueryBaseImpl.pageSize``), also what its list calls answer."""

JobTest = Callable[[JobInstance], bool]
T = TypeVar("T")

ID_FILTERS: Mapping[str, Callable[[JobInstance], int | None]] = {
    "jobInstanceId": lambda j: j.id,
    "parentId": lambda j: j.parent_id,
    "queueId": lambda j: j.queue.id,
}
TEXT_FILTERS: Mapping[str, Callable[[JobInstance], str | None]] = {
    "applicationName": lambda j: j.definition.name,
    "user": lambda j: j.user,
    "sessionId": lambda j: j.session_id,
    "instanceKeyword1": lambda j: j.keyword1,
    "instanceKeyword2": lambda j: j.keyword2,
    "instanceKeyword3": lambda j: j.keyword3,
    "instanceModule": lambda j: j.module,
    "instanceApplication": lambda j: j.application,
    "jobDefKeyword1": lambda j: j.definition.keyword1,
    "jobDefKeyword2": lambda j: j.definition.keyword2,
    "jobDefKeyword3": lambda j: j.definition.keyword3,
    "jobDefModule": lambda j: j.definition.module,
    "jobDefApplication": lambda j: j.definition.application,
    "queueName": lambda j: j.queue.name,
}
DATE_FILTERS: Mapping[str, tuple[Callable[[JobInstance], float | None], bool]] = {
    # name -> (the job's date, True for "after" (>=), False for "before" (<=))
    "enqueuedAfter": (lambda j: j.enqueue_date, True),
    "enqueuedBefore": (lambda j: j.enqueue_date, False),
    "beganRunningAfter": (lambda j: j.began_date, True),
    "beganRunningBefore": (lambda j: j.began_date, False),
    "endedAfter": (lambda j: j.end_date, True),
    "endedBefore": (lambda j: j.end_date, False),
}


@dataclass(frozen=True, slots=True)
class SortColumn:
    of_job: Callable[[JobInstance], Any]
    wire: str
    """The JobInstance field (as the APIs write it) that holds the same value: how merged answers sort."""


SORT_COLUMNS: Mapping[str, SortColumn] = {
    "ID": SortColumn(lambda j: j.id, "id"),
    "APPLICATIONNAME": SortColumn(lambda j: j.definition.name, "applicationName"),
    "QUEUENAME": SortColumn(lambda j: j.queue.name, "queueName"),
    "STATUS": SortColumn(lambda j: j.state.value, "state"),
    "DATEENQUEUE": SortColumn(lambda j: j.enqueue_date, "enqueueDate"),
    "DATEATTRIBUTION": SortColumn(lambda j: j.began_date, "beganRunningDate"),
    "DATEEXECUTION": SortColumn(lambda j: j.began_date, "beganRunningDate"),
    "DATEEND": SortColumn(lambda j: j.end_date, "endDate"),
    "USERNAME": SortColumn(lambda j: j.user, "user"),
    "PARENTID": SortColumn(lambda j: j.parent_id, "parent"),
}


@dataclass(frozen=True, slots=True)
class Sort:
    column: str
    """A key of :data:`SORT_COLUMNS`."""
    descending: bool = False


class QueryError(ValueError):
    """A query that cannot be answered (nothing to query, an impossible sort)."""


# ---------------------------------------------------------------------------------------- text matching


def _segment(text: str) -> re.Pattern[str]:
    """A LIKE pattern without ``%``: fixed length, ``_`` matching any one character."""
    return re.compile("".join("." if c == "_" else re.escape(c) for c in text), re.DOTALL)


@lru_cache(maxsize=256)
def like(pattern: str) -> Callable[[str], bool]:
    """A SQL LIKE pattern (``%`` any run, ``_`` one character) as a matcher that never backtracks.

    A regular expression ``.*a.*b.*c`` can take exponential time on values that almost match; here
    the pattern is cut at each ``%`` into fixed-length segments: the first must start the value, the
    last must end it, and each middle one is taken at its leftmost place after the previous one
    (which is always right for ``%`` wildcards), so each segment is searched once.
    """
    texts = pattern.split("%")
    first, last = _segment(texts[0]), _segment(texts[-1])
    middle = [_segment(t) for t in texts[1:-1] if t]
    head, tail = len(texts[0]), len(texts[-1])

    def matches(value: str) -> bool:
        end = len(value) - tail
        if end < head or first.match(value) is None or last.fullmatch(value, end) is None:
            return False
        position = head
        for segment in middle:
            found = segment.search(value, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    return matches


def text_matcher(patterns: Sequence[str]) -> Callable[[str | None], bool]:
    """True for a value any pattern matches: exactly, as LIKE with ``%``, "no value" for ``""``."""

    def matches(value: str | None) -> bool:
        for pattern in patterns:
            if pattern == "":
                if not value:
                    return True
            elif value is not None and (like(pattern)(value) if "%" in pattern else value == pattern):
                return True
        return False

    return matches


# ---------------------------------------------------------------------------------------- the query


@dataclass(slots=True)
class JobQuery:
    """What to find (every filter must hold), in which order, which page."""

    tests: list[JobTest] = field(default_factory=list)
    ids: list[int] | None = None
    """Only these job IDs (a lookup instead of a scan); None: every job."""
    live: bool = False
    history: bool = True
    sorts: list[Sort] = field(default_factory=list)
    first_row: int = 0
    page_size: int | None = DEFAULT_PAGE_SIZE

    def where_id(self, name: str, value: int) -> None:
        """An :data:`ID_FILTERS` filter; -1 means "none" (no parent, for instance)."""
        getter, expected = ID_FILTERS[name], None if value == -1 else value
        self.tests.append(lambda j: getter(j) == expected)
        if name == "jobInstanceId" and expected is not None:
            self.ids = [expected]

    def where_text(self, name: str, patterns: Sequence[str]) -> None:
        """A :data:`TEXT_FILTERS` filter: any of ``patterns`` matches."""
        getter, matches = TEXT_FILTERS[name], text_matcher(patterns)
        self.tests.append(lambda j: matches(getter(j)))

    def where_node(self, pattern: str, *, local_node: str) -> None:
        """The node a job ran on (``local_node`` for this node's jobs); jobs that never ran have none."""
        matches = text_matcher([pattern])
        never_ran = matches(None)
        self.tests.append(lambda j: never_ran if j.began_date is None else matches(ran_on(j, local_node)))

    def where_date(self, name: str, epoch_seconds: float) -> None:
        """A :data:`DATE_FILTERS` bound (inclusive); jobs without that date never match."""
        date_of, after = DATE_FILTERS[name]
        if after:
            self.tests.append(lambda j: (d := date_of(j)) is not None and d >= epoch_seconds)
        else:
            self.tests.append(lambda j: (d := date_of(j)) is not None and d <= epoch_seconds)

    def where_state(self, states: frozenset[State]) -> None:
        self.tests.append(lambda j: j.state in states)

    def check(self) -> None:
        """Raises QueryError for a query upstream refuses."""
        if not self.live and not self.history:
            raise QueryError(
                "cannot query nothing - either query live instances, historical instances or both, but not nothing"
            )
        if self.live and not self.history and any(s.column == "DATEEND" for s in self.sorts):
            raise QueryError("cannot sort live instances by end date as those instances are still running")

    @property
    def states(self) -> frozenset[State]:
        """The states live and history instances have."""
        return (ACTIVE_STATES if self.live else frozenset()) | (FINAL_STATES if self.history else frozenset())


# ---------------------------------------------------------------------------------------- order and pages


class _Reversed:
    """Inverts the order of one sort component (a descending column)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(other.value == self.value)


def _sort_key(
    sorts: Sequence[Sort], value_of: Callable[[SortColumn, T], Any], id_of: Callable[[T], int]
) -> Callable[[T], tuple[Any, ...]]:
    columns = [(SORT_COLUMNS[s.column], s.descending) for s in sorts]

    def key(item: T) -> tuple[Any, ...]:
        parts: list[Any] = []
        for column, descending in columns:
            value = value_of(column, item)
            part = (value is not None, value)  # absent values first ascending, last descending
            parts.append(_Reversed(part) if descending else part)
        parts.append(id_of(item))  # ties in ID order
        return tuple(parts)

    return key


def job_sort_key(sorts: Sequence[Sort]) -> Callable[[JobInstance], tuple[Any, ...]]:
    return _sort_key(sorts, lambda column, job: column.of_job(job), lambda job: job.id)


def wire_sort_key(sorts: Sequence[Sort]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The order of :func:`job_sort_key` on JobInstances as the APIs write them (the answers of other nodes)."""
    return _sort_key(sorts, lambda column, job: job.get(column.wire), lambda job: int(job["id"]))


def page(items: list[T], first_row: int, page_size: int | None) -> list[T]:
    end = None if page_size is None else first_row + page_size
    return items[first_row:end]


def matching(engine: Engine, query: JobQuery) -> Iterator[JobInstance]:
    """This node's jobs ``query`` finds, by ID (its sorts and page aside)."""
    states, tests = query.states, query.tests
    candidates: Iterable[JobInstance]
    if query.ids is not None:
        found = (engine.find(i) for i in sorted(set(query.ids)))
        candidates = (j for j in found if j is not None)
    else:
        candidates = engine.in_id_order()
    return (j for j in candidates if j.state in states and all(test(j) for test in tests))


def run(engine: Engine, query: JobQuery) -> tuple[list[JobInstance], int]:
    """The page of this node's matching jobs, and how many match in all."""
    found = list(matching(engine, query))
    if query.sorts:
        found.sort(key=job_sort_key(query.sorts))
    return page(found, query.first_row, query.page_size), len(found)
