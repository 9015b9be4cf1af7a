"""The client API's objects as JSON-shaped data: JobInstance, Queue, Deliverable, JobDef out; JobRequest in.

Field names and order follow upstream's JAXB classes (``com.enioka.jqm.client.api``), so that the
generic renderer of :mod:`jqm_node.api.representation` can write them as JSON or as JAXB XML.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from jqm_node.api.representation import parse_date, to_millis
from jqm_node.engine import Engine
from jqm_node.errors import BadRequestError, InvalidEnqueueError
from jqm_node.model import Deliverable, JobDefinition, JobInstance, JobRequest, Queue, State, ran_on

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_PARAMETER_KEY, MAX_PARAMETER_VALUE = 50, 1000  # upstream's JobRequest limits


def parameters_to_list(parameters: dict[str, str]) -> list[dict[str, str]]:
    """A ``Map<String,String>`` as upstream writes it: a list of ``{"key", "value"}`` objects."""
    return [{"key": key, "value": value} for key, value in parameters.items()]


def queue_to_dict(queue: Queue) -> dict[str, Any]:
    return {"id": queue.id, "name": queue.name, "description": queue.description}


def job_to_dict(job: JobInstance, engine: Engine, position: int | None = None) -> dict[str, Any]:
    """A JobInstance. ``position`` (1-based rank among waiting jobs) is computed when not given."""
    jd = job.definition
    if position is None:
        position = engine.position(job)
    return {
        "id": job.id,
        "applicationName": jd.name,
        "parent": job.parent_id,
        "user": job.user,
        "sessionID": job.session_id,
        "traceId": job.trace_id,
        "state": job.state.value,
        "position": position,
        "priority": job.priority,
        "queue": queue_to_dict(job.queue),
        "queueName": job.queue.name,
        "keyword1": job.keyword1,
        "keyword2": job.keyword2,
        "keyword3": job.keyword3,
        "definitionKeyword1": jd.keyword1,
        "definitionKeyword2": jd.keyword2,
        "definitionKeyword3": jd.keyword3,
        "module": job.module,
        "email": job.email,
        "application": job.application,
        "parameters": parameters_to_list(job.parameters),
        "progress": job.progress or 0,  # the Java client unboxes it to an int
        "messages": list(job.messages) if job.messages else [],
        "enqueueDate": to_millis(job.enqueue_date),
        "beganRunningDate": to_millis(job.began_date),
        "endDate": to_millis(job.end_date),
        "runAfter": to_millis(job.run_after),
        "nodeName": ran_on(job, engine.node_name) if job.began_date is not None else None,
        "highlander": jd.highlander,
        "fromSchedule": job.from_schedule,
    }


def job_dicts(jobs: Iterable[JobInstance], engine: Engine) -> Iterator[dict[str, Any]]:
    """JobInstances, with the waiting positions of each queue computed once for the whole list."""
    positions: dict[int, dict[int, int]] = {}
    for job in jobs:
        position = 0
        if job.state is State.SUBMITTED:
            ranks = positions.get(job.queue.id)
            if ranks is None:
                ranks = positions[job.queue.id] = engine.positions(job.queue)
            position = ranks.get(job.id, 0)
        yield job_to_dict(job, engine, position)


def jobs_to_dicts(jobs: Iterable[JobInstance], engine: Engine) -> list[dict[str, Any]]:
    return list(job_dicts(jobs, engine))


def deliverable_to_dict(item: Deliverable, root: str) -> dict[str, Any]:
    """A Deliverable; its path is given relative to the node's work directory, never absolute."""
    try:
        path = os.path.relpath(item.path, root)
    except ValueError:
        path = os.path.basename(item.path)
    return {"filePath": path, "fileFamily": item.file_family, "id": item.id, "originalName": item.original_name}


def jobdef_to_dict(jd: JobDefinition, engine: Engine) -> dict[str, Any]:
    queue = engine.queues.get(jd.queue_name or "", engine.default_queue)
    return {
        "id": jd.id,
        "description": jd.description,
        "canBeRestarted": jd.can_be_restarted,
        "queue": queue_to_dict(queue),
        "applicationName": jd.name,
        "application": jd.application,
        "module": jd.module,
        "keyword1": jd.keyword1,
        "keyword2": jd.keyword2,
        "keyword3": jd.keyword3,
        "highlander": jd.highlander,
        "parameters": parameters_to_list(jd.parameters),
        "schedules": [],
    }


def empty_job_request() -> dict[str, Any]:
    """What upstream's ``GET jr`` answers: a template to fill in."""
    return {
        "applicationName": "appName",
        "sessionID": None,
        "traceId": None,
        "application": None,
        "user": "rsapi user",
        "module": None,
        "keyword1": None,
        "keyword2": None,
        "keyword3": None,
        "email": None,
        "queueName": None,
        "parentJobId": None,
        "scheduleId": None,
        "startState": None,
        "priority": 0,
        "parameters": [],
        "runAfter": None,
        "recurrence": None,
    }


# ---------------------------------------------------------------------------------------- typed field access


def as_object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequestError(f"the request body must be a {what} object")
    return data


def text_field(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadRequestError(f"'{name}' must be a string, got {type(value).__name__}")


def int_field(data: dict[str, Any], name: str, *, low: int = INT32_MIN, high: int = INT64_MAX) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise BadRequestError(f"'{name}' must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"'{name}' must be an integer, got {value!r}")
    if not low <= value <= high:
        raise BadRequestError(f"'{name}' must be between {low} and {high}, got {value}")
    return value


def bool_field(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequestError(f"'{name}' must be true or false, got {value!r}")


def parameters_field(data: dict[str, Any], name: str = "parameters") -> dict[str, str]:
    """A map given as upstream does: a list of ``{"key", "value"}`` (JSON) or of entries (XML)."""
    value = data.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, list):
        raise BadRequestError(f"'{name}' must be a list of {{key, value}} objects")
    result: dict[str, str] = {}
    for entry in value:
        if not isinstance(entry, dict):
            raise BadRequestError(f"'{name}' must be a list of {{key, value}} objects")
        key, val = text_field(entry, "key"), text_field(entry, "value")
        if key is None or val is None:
            raise BadRequestError(f"every entry of '{name}' needs a key and a value")
        result[key] = val
    return result


def checked_parameters(parameters: dict[str, str]) -> dict[str, str]:
    """Request parameters checked as upstream's ``JobRequestBaseImpl.validateParameter`` checks them (both
    APIs): keys of 1 to 50 characters, values of 1 to 1000 (an empty value is refused, a blank one is not)."""
    for key, value in parameters.items():
        if not 0 < len(key) <= MAX_PARAMETER_KEY or not 0 < len(value) <= MAX_PARAMETER_VALUE:
            raise InvalidEnqueueError(
                f"Parameters key must be between 1 and {MAX_PARAMETER_KEY} characters, parameter values between 1 "
                f"and {MAX_PARAMETER_VALUE} characters"
            )
    return parameters


def id_list(items: list[Any]) -> list[int]:
    """Job IDs from a bulk request body: non-negative integers."""
    ids = []
    for item in items:
        value = item
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise BadRequestError(f"job IDs must be integers, got {item!r}") from None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
            raise BadRequestError(f"job IDs must be non-negative integers, got {item!r}")
        ids.append(value)
    return ids


# ---------------------------------------------------------------------------------------- JobRequest


def job_request_from_dict(data: Any) -> JobRequest:
    """A JobRequest body (upstream ``JobRequestBaseImpl`` fields) checked as upstream checks it."""
    data = as_object(data, "JobRequest")
    if text_field(data, "recurrence") or data.get("scheduleId") is not None:
        raise BadRequestError("schedules (recurrence, scheduleId) are not supported by a standalone node")
    name = text_field(data, "applicationName")
    if not name or not name.strip():
        raise InvalidEnqueueError("Invalid execution request: applicationName is empty")
    if len(name) > 100:
        raise InvalidEnqueueError("Job definition name must be between 1 and 100 characters")
    parameters = checked_parameters(parameters_field(data))
    priority = int_field(data, "priority")
    if priority is not None and priority != 0 and not 1 <= priority <= 10:
        raise InvalidEnqueueError(f"Priority must be between 1 and 10 (or 0 for none), not {priority}")
    start_state = text_field(data, "startState")
    if start_state not in (None, "", State.SUBMITTED, State.HOLDED):
        raise InvalidEnqueueError("startState may only be SUBMITTED or HOLDED")
    run_after = parse_date(data.get("runAfter"), name="runAfter")
    return JobRequest(
        application_name=name,
        user=text_field(data, "user"),
        module=text_field(data, "module"),
        email=text_field(data, "email"),
        keyword1=text_field(data, "keyword1"),
        keyword2=text_field(data, "keyword2"),
        keyword3=text_field(data, "keyword3"),
        parent_id=int_field(data, "parentJobId", low=0),
        session_id=text_field(data, "sessionID"),
        trace_id=text_field(data, "traceId"),
        application=text_field(data, "application"),
        queue_name=text_field(data, "queueName") or None,
        priority=priority or None,
        run_after=run_after / 1000 if run_after is not None else None,
        start_state=State(start_state) if start_state else None,
        parameters=parameters,
    )
