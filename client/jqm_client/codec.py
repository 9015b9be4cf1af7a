"""The JSON representation of the client API (``Accept: application/json``) to and from the models.

As upstream's Jackson writes them: camelCase fields, dates as epoch milliseconds, a map of parameters
as a list of ``{"key", "value"}`` objects. Reading is strict about types (a wrong one raises
:class:`~jqm_client.errors.JqmProtocolError` naming the field) and lenient about absent fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jqm_client.errors import ErrorDto, JqmProtocolError
from jqm_client.models import (
    Deliverable,
    JobDef,
    JobInstance,
    JobRequest,
    Query,
    QueryResult,
    Queue,
    QueueStatus,
    State,
)

# ------------------------------------------------------------------------------------------ writing


def to_millis(when: datetime) -> int:
    """Epoch milliseconds; a naive datetime is taken as UTC (as the node does)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def _parameters(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def job_request_to_json(request: JobRequest) -> dict[str, Any]:
    return _without_none(
        {
            "applicationName": request.application_name,
            "sessionID": request.session_id,
            "traceId": request.trace_id,
            "application": request.application,
            "user": request.user,
            "module": request.module,
            "keyword1": request.keyword1,
            "keyword2": request.keyword2,
            "keyword3": request.keyword3,
            "email": request.email,
            "queueName": request.queue_name,
            "parentJobId": request.parent_job_id,
            "scheduleId": request.schedule_id,
            "startState": State.HOLDED.value if request.start_held else None,
            "priority": request.priority,
            "parameters": _parameters(request.parameters),
            "runAfter": to_millis(request.run_after) if request.run_after else None,
            "recurrence": request.recurrence,
        }
    )


_QUERY_TEXT_FIELDS = {
    "user": "user",
    "session_id": "sessionId",
    "job_def_keyword1": "jobDefKeyword1",
    "job_def_keyword2": "jobDefKeyword2",
    "job_def_keyword3": "jobDefKeyword3",
    "job_def_module": "jobDefModule",
    "job_def_application": "jobDefApplication",
    "instance_keyword1": "instanceKeyword1",
    "instance_keyword2": "instanceKeyword2",
    "instance_keyword3": "instanceKeyword3",
    "instance_module": "instanceModule",
    "instance_application": "instanceApplication",
    "queue_name": "queueName",
    "node_name": "nodeName",
}
_QUERY_DATE_FIELDS = {
    "enqueued_before": "enqueuedBefore",
    "enqueued_after": "enqueuedAfter",
    "began_running_before": "beganRunningBefore",
    "began_running_after": "beganRunningAfter",
    "ended_before": "endedBefore",
    "ended_after": "endedAfter",
}


def query_to_json(query: Query) -> dict[str, Any]:
    data: dict[str, Any] = {
        "jobInstanceId": query.job_instance_id,
        "jobInstanceIds": query.job_instance_ids,
        "parentId": query.parent_id,
        "queueId": query.queue_id,
        "applicationName": list(query.application_names),
        "statuses": [state.value for state in query.statuses],
        "queryLiveInstances": query.live,
        "queryHistoryInstances": query.history,
        "firstRow": query.first_row,
        "pageSize": query.page_size,
        "sortby": [{"col": s.column.value, "order": "DESCENDING" if s.descending else "ASCENDING"} for s in query.sort],
    }
    for attribute, name in _QUERY_TEXT_FIELDS.items():
        data[name] = getattr(query, attribute)
    for attribute, name in _QUERY_DATE_FIELDS.items():
        when = getattr(query, attribute)
        data[name] = to_millis(when) if when is not None else None
    data = _without_none(data)
    if query.page_size is None:
        data["pageSize"] = None  # explicit: no paging (absent would mean the default page of 50)
    return data


# ------------------------------------------------------------------------------------------ reading


class _Fields:
    """Typed access to one JSON object of an answer; ``what`` names it in error messages."""

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, dict):
            raise JqmProtocolError(f"expected a {what} object, got {type(data).__name__}")
        self._data: dict[str, Any] = data
        self._what = what

    def _wrong(self, name: str, expected: str) -> JqmProtocolError:
        value = self._data.get(name)
        return JqmProtocolError(f"{self._what}.{name} should be {expected}, got {value!r}")

    def raw(self, name: str) -> Any:
        return self._data.get(name)

    def text(self, name: str) -> str | None:
        value = self._data.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._wrong(name, "a string")

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise self._wrong(name, "a string")
        return value

    def integer(self, name: str) -> int | None:
        value = self._data.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self._wrong(name, "an integer")

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise self._wrong(name, "an integer")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        raise self._wrong(name, "true or false")

    def date(self, name: str) -> datetime | None:
        value = self._data.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                raise self._wrong(name, "a date") from None
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        raise self._wrong(name, "a date")

    def texts(self, name: str) -> list[str]:
        value = self._data.get(name)
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise self._wrong(name, "a list of strings")

    def parameters(self, name: str = "parameters") -> dict[str, str]:
        value = self._data.get(name)
        if value is None:
            return {}
        if not isinstance(value, list):
            raise self._wrong(name, "a list of {key, value} objects")
        result: dict[str, str] = {}
        for entry in value:
            item = _Fields(entry, f"{self._what}.{name}[]")
            result[item.required_text("key")] = item.text("value") or ""
        return result


def queue_from_json(data: Any) -> Queue:
    f = _Fields(data, "Queue")
    return Queue(id=f.required_integer("id"), name=f.required_text("name"), description=f.text("description"))


def _state(value: Any, what: str) -> State:
    try:
        return State(value)
    except ValueError:
        raise JqmProtocolError(f"{what} is not a job state: {value!r}") from None


def job_from_json(data: Any) -> JobInstance:
    f = _Fields(data, "JobInstance")
    queue = f.raw("queue")
    return JobInstance(
        id=f.required_integer("id"),
        application_name=f.required_text("applicationName"),
        state=_state(f.raw("state"), "JobInstance.state"),
        parent=f.integer("parent"),
        user=f.text("user"),
        session_id=f.text("sessionID"),
        trace_id=f.text("traceId"),
        position=f.integer("position"),
        priority=f.integer("priority"),
        queue=queue_from_json(queue) if queue is not None else None,
        queue_name=f.text("queueName"),
        keyword1=f.text("keyword1"),
        keyword2=f.text("keyword2"),
        keyword3=f.text("keyword3"),
        definition_keyword1=f.text("definitionKeyword1"),
        definition_keyword2=f.text("definitionKeyword2"),
        definition_keyword3=f.text("definitionKeyword3"),
        module=f.text("module"),
        email=f.text("email"),
        application=f.text("application"),
        parameters=f.parameters(),
        progress=f.integer("progress"),
        messages=f.texts("messages"),
        enqueue_date=f.date("enqueueDate"),
        began_running_date=f.date("beganRunningDate"),
        end_date=f.date("endDate"),
        run_after=f.date("runAfter"),
        node_name=f.text("nodeName"),
        highlander=f.boolean("highlander"),
        from_schedule=f.boolean("fromSchedule"),
    )


def deliverable_from_json(data: Any) -> Deliverable:
    f = _Fields(data, "Deliverable")
    return Deliverable(
        id=f.required_integer("id"),
        file_path=f.text("filePath"),
        file_family=f.text("fileFamily"),
        original_name=f.text("originalName"),
    )


def jobdef_from_json(data: Any) -> JobDef:
    f = _Fields(data, "JobDef")
    queue = f.raw("queue")
    return JobDef(
        id=f.integer("id"),
        application_name=f.required_text("applicationName"),
        description=f.text("description"),
        can_be_restarted=f.boolean("canBeRestarted", True),
        queue=queue_from_json(queue) if queue is not None else None,
        application=f.text("application"),
        module=f.text("module"),
        keyword1=f.text("keyword1"),
        keyword2=f.text("keyword2"),
        keyword3=f.text("keyword3"),
        highlander=f.boolean("highlander"),
        parameters=f.parameters(),
    )


def list_of(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise JqmProtocolError(f"expected a list of {what}, got {type(data).__name__}")
    return data


def integer_of(data: Any, what: str) -> int:
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    raise JqmProtocolError(f"expected {what} (an integer), got {data!r}")


def query_result_from_json(data: Any, *, missing_nodes: list[str]) -> QueryResult:
    f = _Fields(data, "Query")
    instances = f.raw("instances")
    return QueryResult(
        instances=[job_from_json(item) for item in list_of(instances or [], "JobInstance")],
        total=f.integer("resultSize") or 0,
        missing_nodes=missing_nodes,
    )


def queue_status_from_json(data: Any) -> QueueStatus:
    try:
        return QueueStatus(data)
    except ValueError:
        raise JqmProtocolError(f"not a queue status: {data!r}") from None


def error_from_json(data: Any) -> ErrorDto | None:
    """The errorDto of an error answer, or None when the body is something else."""
    if not isinstance(data, dict) or not isinstance(data.get("userReadableMessage"), str):
        return None
    code, status = data.get("errorCode"), data.get("httpStatus")
    developer = data.get("developerMessage")
    return ErrorDto(
        user_readable_message=data["userReadableMessage"],
        developer_message=developer if isinstance(developer, str) else None,
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
    )
