"""The objects of the client API as they travel (upstream's JAXB classes): one declaration per object.

Each object is its fields in upstream's order, each field a :class:`Field`: how it is typed (what the
XML reader makes of its text, how the writer prints it) and its OpenAPI schema. The OpenAPI document
(:mod:`jqm_node.api.openapi`) and the representation's typed keys (:mod:`jqm_node.api.representation`)
are derived from here; the functions that build objects (:mod:`jqm_node.api.client_objects`) are
checked against it by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jqm_node.ids import ID_CEILING
from jqm_node.model import State


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    """``text``, ``integer``, ``date`` (epoch milliseconds; XML ``xs:dateTime``), ``boolean`` or ``object``."""
    openapi: Mapping[str, Any]
    wrapper_item: str | None = None
    """A list XML writes inside a wrapper element, with items of this name (``<messages><message/>``)."""


def text(**schema: Any) -> Field:
    return Field("text", {"type": "string", "nullable": True, **schema})


def integer(fmt: str = "int64", **schema: Any) -> Field:
    return Field("integer", {"type": "integer", "format": fmt, "nullable": True, **schema})


def identifier(**schema: Any) -> Field:
    """A job, deliverable or input file ID: it decodes to an IPv4."""
    return Field("integer", {"type": "integer", "format": "int64", "minimum": 0, "maximum": ID_CEILING - 1, **schema})


def date() -> Field:
    return Field("date", {"type": "integer", "format": "int64", "nullable": True,
                          "description": "epoch milliseconds (XML: xs:dateTime)"})  # fmt: skip


def flag(**schema: Any) -> Field:
    return Field("boolean", {"type": "boolean", **schema})


def ref(name: str) -> Field:
    return Field("object", {"$ref": f"#/components/schemas/{name}"})


def listing(item: Field, *, wrapper_item: str | None = None, **schema: Any) -> Field:
    """A list: XML writes it inside a wrapper (``wrapper_item``) or as repeated elements (their text typed as
    the item)."""
    kind = "object" if wrapper_item else item.kind
    return Field(kind, {"type": "array", "items": dict(item.openapi), **schema}, wrapper_item)


STATE = Field("text", {"type": "string", "enum": [state.value for state in State]})
PARAMETERS = listing(ref("Parameter"), wrapper_item="entry", nullable=True)

QUEUE: Mapping[str, Field] = {"id": integer("int32", nullable=False), "name": text(), "description": text()}

JOB_INSTANCE: Mapping[str, Field] = {
    "id": identifier(),
    "applicationName": text(),
    "parent": integer(),
    "user": text(),
    "sessionID": text(),
    "traceId": text(),
    "state": STATE,
    "position": integer(),
    "priority": integer("int32"),
    "queue": ref("Queue"),
    "queueName": text(),
    "keyword1": text(),
    "keyword2": text(),
    "keyword3": text(),
    "definitionKeyword1": text(),
    "definitionKeyword2": text(),
    "definitionKeyword3": text(),
    "module": text(),
    "email": text(),
    "application": text(),
    "parameters": PARAMETERS,
    "progress": integer("int32"),
    "messages": listing(text(), wrapper_item="message"),
    "enqueueDate": date(),
    "beganRunningDate": date(),
    "endDate": date(),
    "runAfter": date(),
    "nodeName": text(),
    "highlander": flag(),
    "fromSchedule": flag(),
}

JOB_REQUEST: Mapping[str, Field] = {
    "applicationName": Field("text", {"type": "string", "minLength": 1}),
    "sessionID": text(),
    "traceId": text(),
    "application": text(),
    "user": text(),
    "module": text(),
    "keyword1": text(),
    "keyword2": text(),
    "keyword3": text(),
    "email": text(),
    "queueName": text(),
    "parentJobId": integer(),
    "scheduleId": integer(description="not supported: 400"),
    "startState": Field("text", {"type": "string", "enum": ["SUBMITTED", "HOLDED"], "nullable": True}),
    "priority": integer("int32", minimum=0, maximum=10),
    "parameters": PARAMETERS,
    "runAfter": date(),
    "recurrence": text(description="not supported: 400"),
}

SORT_ITEM: Mapping[str, Field] = {
    "order": Field("text", {"type": "string", "enum": ["ASCENDING", "DESCENDING"]}),
    "col": Field("text", {"type": "string", "enum": [
        "ID", "APPLICATIONNAME", "QUEUENAME", "STATUS", "DATEENQUEUE", "DATEATTRIBUTION", "DATEEXECUTION",
        "DATEEND", "USERNAME", "PARENTID",
    ]}),
}  # fmt: skip

QUERY: Mapping[str, Field] = {
    "jobInstanceId": integer(),
    "parentId": integer(),
    "applicationName": listing(text(), nullable=True),
    "user": text(),
    "sessionId": text(),
    "jobDefKeyword1": text(),
    "jobDefKeyword2": text(),
    "jobDefKeyword3": text(),
    "jobDefModule": text(),
    "jobDefApplication": text(),
    "instanceKeyword1": text(),
    "instanceKeyword2": text(),
    "instanceKeyword3": text(),
    "instanceModule": text(),
    "instanceApplication": text(),
    "queueName": text(),
    "nodeName": text(),
    "queueId": integer(),
    "enqueuedBefore": date(),
    "enqueuedAfter": date(),
    "beganRunningBefore": date(),
    "beganRunningAfter": date(),
    "endedBefore": date(),
    "endedAfter": date(),
    "statuses": listing(STATE, wrapper_item="status", nullable=True),
    "jobInstanceIds": listing(identifier(), nullable=True, description="extension"),
    "firstRow": integer("int32", minimum=0),
    "pageSize": integer("int32", minimum=0, default=50),
    "sortby": listing(ref("SortItem"), wrapper_item="sortitem", nullable=True),
    "queryLiveInstances": flag(default=False),
    "queryHistoryInstances": flag(default=True),
    "resultSize": integer("int32", readOnly=True),
    "instances": listing(ref("JobInstance"), wrapper_item="instance", nullable=True, readOnly=True),
}

DELIVERABLE: Mapping[str, Field] = {
    "filePath": text(),
    "fileFamily": text(),
    "id": identifier(),
    "originalName": text(),
}

JOB_DEF: Mapping[str, Field] = {
    "id": integer("int32", nullable=False),
    "description": text(),
    "canBeRestarted": flag(),
    "queue": ref("Queue"),
    "applicationName": text(),
    "application": text(),
    "module": text(),
    "keyword1": text(),
    "keyword2": text(),
    "keyword3": text(),
    "highlander": flag(),
    "parameters": PARAMETERS,
    "schedules": listing(Field("object", {"type": "object"})),
}

ERROR_DTO: Mapping[str, Field] = {
    "userReadableMessage": text(),
    "developerMessage": text(),
    "stacktrace": text(),
    "errorCode": integer("int32", nullable=False),
    "userMessageKey": text(),
    "userMessageParams": listing(text(), wrapper_item="entry", nullable=True),
    "httpStatus": integer("int32", nullable=False),
}

PARAMETER: Mapping[str, Field] = {"key": Field("text", {"type": "string"}), "value": Field("text", {"type": "string"})}

OBJECTS: Mapping[str, Mapping[str, Field]] = {
    "Parameter": PARAMETER,
    "Queue": QUEUE,
    "JobInstance": JOB_INSTANCE,
    "JobRequest": JOB_REQUEST,
    "SortItem": SORT_ITEM,
    "Query": QUERY,
    "Deliverable": DELIVERABLE,
    "JobDef": JOB_DEF,
    "ErrorDto": ERROR_DTO,
}
"""Every object, by its OpenAPI name."""


def keys_of_kind(kind: str) -> frozenset[str]:
    """The field names of ``kind`` in any object; a name has one kind wherever it appears (checked here)."""
    kinds: dict[str, str] = {}
    for fields in OBJECTS.values():
        for name, item in fields.items():
            if kinds.setdefault(name, item.kind) != item.kind:
                raise RuntimeError(f"the field {name} is {kinds[name]} in one object and {item.kind} in another")
    return frozenset(name for name, found in kinds.items() if found == kind)


def wrapped_lists() -> dict[str, str]:
    """List fields XML writes inside a wrapper element, with the name of their items."""
    return {
        name: item.wrapper_item for fields in OBJECTS.values() for name, item in fields.items() if item.wrapper_item
    }
