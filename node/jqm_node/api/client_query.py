"""The Query body of ``POST ji/query`` (upstream's ``QueryBaseImpl``, XML or JSON) read into a
:class:`jqm_node.query.JobQuery`, and the Query answered as upstream answers it: echoed, with its
results. What the filters mean is :mod:`jqm_node.query`'s business.

``jobInstanceIds`` (a list) is an extension of ours, used by bulk reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jqm_node.api.client_objects import as_object, bool_field, int_field, text_field
from jqm_node.api.representation import parse_date
from jqm_node.api.schemas import QUERY
from jqm_node.errors import BadRequestError
from jqm_node.model import State
from jqm_node.query import (
    DATE_FILTERS,
    DEFAULT_PAGE_SIZE,
    ID_FILTERS,
    SORT_COLUMNS,
    TEXT_FILTERS,
    JobQuery,
    QueryError,
    Sort,
)

INT32_MAX = 2**31 - 1


@dataclass(slots=True)
class ParsedQuery:
    query: JobQuery
    echo: dict[str, Any]
    """The Query as upstream echoes it in its answer (every field, normalised)."""
    body: dict[str, Any]
    """The body as sent: what other nodes are asked (with their own paging)."""


def _text_list(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise BadRequestError(f"'{name}' must be a string or a list of strings")
    return values


def _text_list_of_one(data: dict[str, Any], name: str) -> list[str]:
    text = text_field(data, name)
    return [] if text is None else [text]


def _filters(data: dict[str, Any], query: JobQuery, echo: dict[str, Any], node_name: str) -> None:
    for name in ID_FILTERS:
        echo[name] = value = int_field(data, name, low=-1)
        if value is not None:
            query.where_id(name, value)
    for name in TEXT_FILTERS:  # applicationName is a list, the others one value
        patterns = _text_list(data, name) if name == "applicationName" else _text_list_of_one(data, name)
        echo[name] = patterns if name == "applicationName" else (patterns[0] if patterns else None)
        if patterns:
            query.where_text(name, patterns)
    echo["nodeName"] = node = text_field(data, "nodeName")
    if node is not None:
        query.where_node(node, local_node=node_name)
    for name in DATE_FILTERS:
        echo[name] = millis = parse_date(data.get(name), name=name)
        if millis is not None:
            query.where_date(name, millis / 1000)
    statuses = _text_list(data, "statuses") or _text_list(data, "status")
    try:
        states = frozenset(State(s.strip()) for s in statuses)
    except ValueError:
        raise BadRequestError(f"unknown state in {statuses!r}; states are {', '.join(State)}") from None
    echo["statuses"] = sorted(s.value for s in states)
    if states:
        query.where_state(states)
    ids = data.get("jobInstanceIds")
    if ids is not None:
        query.ids = [int_field({"id": i}, "id", low=0) or 0 for i in (ids if isinstance(ids, list) else [ids])]
        echo["jobInstanceIds"] = query.ids


def _sorts(data: dict[str, Any]) -> list[Sort]:
    items = data.get("sortby") or []
    if not isinstance(items, list):
        raise BadRequestError("'sortby' must be a list of {order, col} objects")
    sorts = []
    for item in items:
        spec = as_object(item, "sort item ({order, col})")
        column, order = text_field(spec, "col"), text_field(spec, "order") or "ASCENDING"
        if column is None or column not in SORT_COLUMNS:
            raise BadRequestError(f"unknown sort column {column!r}; columns are {', '.join(SORT_COLUMNS)}")
        if order not in ("ASCENDING", "DESCENDING"):
            raise BadRequestError(f"sort order must be ASCENDING or DESCENDING, got {order!r}")
        sorts.append(Sort(column, order == "DESCENDING"))
    return sorts


def parse_query(data: Any, *, node_name: str) -> ParsedQuery:
    """Checks a Query body; ``node_name`` is this node's, which every job that ran here carries."""
    data = as_object(data, "Query")
    query, echo = JobQuery(), dict[str, Any]()
    _filters(data, query, echo, node_name)
    query.first_row = int_field(data, "firstRow", low=0, high=INT32_MAX) or 0
    query.page_size = int_field(data, "pageSize", low=0, high=INT32_MAX) if "pageSize" in data else DEFAULT_PAGE_SIZE
    echo["firstRow"], echo["pageSize"] = query.first_row, query.page_size
    query.sorts = _sorts(data)
    echo["sortby"] = [{"order": "DESCENDING" if s.descending else "ASCENDING", "col": s.column} for s in query.sorts]
    query.live = bool_field(data, "queryLiveInstances", False)
    query.history = bool_field(data, "queryHistoryInstances", True)
    echo["queryLiveInstances"], echo["queryHistoryInstances"] = query.live, query.history
    try:
        query.check()
    except QueryError as e:
        raise BadRequestError(str(e)) from None
    in_upstream_order = {name: echo[name] for name in QUERY if name in echo}
    return ParsedQuery(query=query, echo=in_upstream_order, body=data)


def query_result(parsed: ParsedQuery, jobs: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The query as upstream answers it: the query echoed, with ``resultSize`` and ``instances``."""
    return {**parsed.echo, "resultSize": total, "instances": jobs}


def empty_query(node_name: str) -> dict[str, Any]:
    """Upstream's ``GET ji/query``: a blank Query to fill in."""
    return {**parse_query({}, node_name=node_name).echo, "resultSize": None, "instances": None}
