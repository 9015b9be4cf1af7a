"""``POST ji/query``: upstream's Query object (``QueryBaseImpl``) run against the node's in-memory store.

Semantics follow upstream's JDBC client: string filters match exactly, or as SQL ``LIKE`` patterns
when they contain ``%``, and an empty string matches "no value"; a parent or instance ID of -1
matches "none"; "live" instances are the waiting and running ones, "history" the finished ones
(by default only history is queried); results are sorted by ID unless ``sortby`` says otherwise,
and paginated by ``firstRow`` / ``pageSize`` (default 50). ``jobInstanceIds`` (a list) is an
extension of ours, used by bulk reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jqm_node.api.client_objects import as_object, bool_field, int_field, ran_on, text_field
from jqm_node.api.representation import parse_date
from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError
from jqm_node.model import ACTIVE_STATES, FINAL_STATES, JobInstance, State

DEFAULT_PAGE_SIZE = 50

_STRING_FILTERS: dict[str, Callable[[JobInstance], str | None]] = {
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

_DATE_FILTERS: dict[str, tuple[Callable[[JobInstance], float | None], bool]] = {
    # name -> (date of the job, True for "after" i.e. >=, False for "before" i.e. <=)
    "enqueuedAfter": (lambda j: j.enqueue_date, True),
    "enqueuedBefore": (lambda j: j.enqueue_date, False),
    "beganRunningAfter": (lambda j: j.began_date, True),
    "beganRunningBefore": (lambda j: j.began_date, False),
    "endedAfter": (lambda j: j.end_date, True),
    "endedBefore": (lambda j: j.end_date, False),
}

SORT_KEYS: dict[str, Callable[[JobInstance], Any]] = {
    "ID": lambda j: j.id,
    "APPLICATIONNAME": lambda j: j.definition.name,
    "QUEUENAME": lambda j: j.queue.name,
    "STATUS": lambda j: j.state.value,
    "DATEENQUEUE": lambda j: j.enqueue_date,
    "DATEATTRIBUTION": lambda j: j.began_date,
    "DATEEXECUTION": lambda j: j.began_date,
    "DATEEND": lambda j: j.end_date,
    "USERNAME": lambda j: j.user,
    "PARENTID": lambda j: j.parent_id,
}


def _segment(text: str) -> re.Pattern[str]:
    """A LIKE pattern without ``%``: fixed length, ``_`` matching any one character."""
    return re.compile("".join("." if c == "_" else re.escape(c) for c in text), re.DOTALL)


@lru_cache(maxsize=256)
def _like(pattern: str) -> Callable[[str], bool]:
    """A SQL LIKE pattern (``%`` any run, ``_`` one character) as a matcher that never backtracks.

    A regular expression ``.*a.*b.*c`` can take exponential time on values that almost match; here
    the pattern is cut at each ``%`` into fixed-length segments: the first must start the value, the
    last must end it, and each middle one is taken at its leftmost place after the previous one
    (which is always right for ``%`` wildcards), so each segment is searched once.
    """
    texts = pattern.split("%")  # the caller passes patterns with at least one %
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


def _string_matcher(wanted: list[str]) -> Callable[[str | None], bool]:
    def matches(value: str | None) -> bool:
        for pattern in wanted:
            if pattern == "":
                if not value:
                    return True
            elif value is not None and (_like(pattern)(value) if "%" in pattern else value == pattern):
                return True
        return False

    return matches


def _matching(
    getter: Callable[[JobInstance], str | None], matcher: Callable[[str | None], bool]
) -> Callable[[JobInstance], bool]:
    return lambda job: matcher(getter(job))


@dataclass(slots=True)
class Query:
    """A parsed query: ``predicates`` all have to hold; the rest drives selection, order and paging."""

    echo: dict[str, Any]
    predicates: list[Callable[[JobInstance], bool]] = field(default_factory=list)
    ids: list[int] | None = None
    live: bool = False
    history: bool = True
    sorts: list[tuple[str, bool]] = field(default_factory=list)
    first_row: int = 0
    page_size: int | None = DEFAULT_PAGE_SIZE


def _text_list(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise BadRequestError(f"'{name}' must be a string or a list of strings")
    return values


def query_from_dict(data: Any, *, node_name: str) -> Query:
    """Checks a Query body; ``node_name`` is this node's, which every job that ran here carries."""
    data = as_object(data, "Query")
    query = Query(echo={})
    echo = query.echo
    preds = query.predicates

    for name in ("jobInstanceId", "parentId", "queueId"):
        value = int_field(data, name, low=-1)
        echo[name] = value
        if value is None:
            continue
        getter: Callable[[JobInstance], int | None] = {
            "jobInstanceId": lambda j: j.id,
            "parentId": lambda j: j.parent_id,
            "queueId": lambda j: j.queue.id,
        }[name]
        expected = None if value == -1 else value
        preds.append(lambda j, g=getter, e=expected: g(j) == e)
        if name == "jobInstanceId" and expected is not None:
            query.ids = [expected]

    names = _text_list(data, "applicationName")
    echo["applicationName"] = names
    if names:
        preds.append(_matching(lambda j: j.definition.name, _string_matcher(names)))
    for name, getter_s in _STRING_FILTERS.items():
        text = text_field(data, name)
        echo[name] = text
        if text is not None:
            preds.append(_matching(getter_s, _string_matcher([text])))
    wanted_node = text_field(data, "nodeName")
    echo["nodeName"] = wanted_node
    if wanted_node is not None:
        node_matches = _string_matcher([wanted_node])
        never_ran = node_matches(None)
        preds.append(lambda j: never_ran if j.began_date is None else node_matches(ran_on(j, node_name)))

    for name, (date_of, after) in _DATE_FILTERS.items():
        millis = parse_date(data.get(name), name=name)
        echo[name] = millis
        if millis is not None:
            bound = millis / 1000
            preds.append(
                (lambda j, d=date_of, b=bound: (v := d(j)) is not None and v >= b)
                if after
                else (lambda j, d=date_of, b=bound: (v := d(j)) is not None and v <= b)
            )

    statuses = _text_list(data, "statuses") or _text_list(data, "status")
    try:
        states = frozenset(State(s.strip()) for s in statuses)
    except ValueError:
        raise BadRequestError(f"unknown state in {statuses!r}; states are {', '.join(State)}") from None
    echo["statuses"] = sorted(s.value for s in states)
    if states:
        preds.append(lambda j, s=states: j.state in s)

    ids = data.get("jobInstanceIds")
    if ids is not None:
        if not isinstance(ids, list):
            ids = [ids]
        query.ids = [int_field({"id": i}, "id", low=0) or 0 for i in ids]
        echo["jobInstanceIds"] = query.ids

    query.first_row = int_field(data, "firstRow", low=0, high=2**31 - 1) or 0
    page_size = int_field(data, "pageSize", low=0, high=2**31 - 1) if "pageSize" in data else DEFAULT_PAGE_SIZE
    query.page_size = page_size
    echo["firstRow"], echo["pageSize"] = query.first_row, page_size

    sorts = data.get("sortby") or []
    if not isinstance(sorts, list):
        raise BadRequestError("'sortby' must be a list of {order, col} objects")
    for spec in sorts:
        spec = as_object(spec, "sort item ({order, col})")
        col, order = text_field(spec, "col"), text_field(spec, "order") or "ASCENDING"
        if col not in SORT_KEYS:
            raise BadRequestError(f"unknown sort column {col!r}; columns are {', '.join(SORT_KEYS)}")
        if order not in ("ASCENDING", "DESCENDING"):
            raise BadRequestError(f"sort order must be ASCENDING or DESCENDING, got {order!r}")
        query.sorts.append((col, order == "DESCENDING"))
    echo["sortby"] = [{"order": "DESCENDING" if d else "ASCENDING", "col": c} for c, d in query.sorts]

    query.live = bool_field(data, "queryLiveInstances", False)
    query.history = bool_field(data, "queryHistoryInstances", True)
    if not query.live and not query.history:
        raise BadRequestError(
            "cannot query nothing - either query live instances, historical instances or both, but not nothing"
        )
    if query.live and not query.history and any(col == "DATEEND" for col, _ in query.sorts):
        raise BadRequestError("cannot sort live instances by end date as those instances are still running")
    echo["queryLiveInstances"], echo["queryHistoryInstances"] = query.live, query.history
    return query


def _sorted(jobs: list[JobInstance], sorts: list[tuple[str, bool]]) -> list[JobInstance]:
    """Stable multi-key sort; absent values sort first ascending, last descending (as NULLs in HSQLDB)."""
    for col, descending in reversed(sorts):
        key = SORT_KEYS[col]
        jobs.sort(key=lambda j, k=key: (k(j) is not None, k(j)), reverse=descending)
    return jobs


def run_query(engine: Engine, query: Query) -> tuple[list[JobInstance], int]:
    """The page of matching jobs, and how many match in all."""
    states = (ACTIVE_STATES if query.live else frozenset()) | (FINAL_STATES if query.history else frozenset())
    candidates: Iterable[JobInstance]
    if query.ids is not None:
        found = (engine.find(i) for i in sorted(set(query.ids)))
        candidates = (j for j in found if j is not None)
    else:
        candidates = engine.in_id_order()
    preds = query.predicates
    matching = [j for j in candidates if j.state in states and all(p(j) for p in preds)]
    if query.sorts:
        _sorted(matching, query.sorts)
    end = None if query.page_size is None else query.first_row + query.page_size
    return matching[query.first_row : end], len(matching)


def query_result(query: Query, jobs: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The query as upstream answers it: the query echoed, with ``resultSize`` and ``instances``."""
    return {**query.echo, "resultSize": total, "instances": jobs}


def empty_query(node_name: str) -> dict[str, Any]:
    """Upstream's ``GET ji/query``: a blank Query to fill in."""
    return {**query_from_dict({}, node_name=node_name).echo, "resultSize": None, "instances": None}
