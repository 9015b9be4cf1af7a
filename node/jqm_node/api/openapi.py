"""The OpenAPI 3 document of every route of a node's client listener, served at ``GET /ws/openapi.json``.

The document is built once, from the table below; a test walks the aiohttp router and checks that
the table and the routes agree, so a new route without documentation fails the build.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from jqm_node import __version__
from jqm_node.api.routes import Route, route
from jqm_node.api.schemas import OBJECTS, Field
from jqm_node.ids import ID_CEILING
from jqm_node.model import State

_XML, _JSON, _TEXT, _BIN = "application/xml", "application/json", "text/plain", "application/octet-stream"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ID = {"type": "integer", "format": "int64", "minimum": 0, "maximum": ID_CEILING - 1}  # IDs decode to an IPv4
_NULLABLE_STRING = {"type": "string", "nullable": True}
_STATE = {"type": "string", "enum": [state.value for state in State]}
_DETAILS: dict[str, dict[str, Any]] = {
    "Parameter": {"required": ["key", "value"], "description": "one entry of a Map<String,String>; "
                  "XML: <entry><key/><value/></entry>"},
    "JobRequest": {"required": ["applicationName"], "description": "XML root element: jobRequestBaseImpl "
                   "(any name is accepted)"},
    "Query": {"description": "XML root element: queryBaseImpl (any name is accepted); string filters accept "
              "SQL % wildcards"},
    "Deliverable": {"required": ["id"]},
}  # fmt: skip
"""What the OpenAPI document says of an object beyond its fields (which :mod:`jqm_node.api.schemas` declares)."""


def _schema(name: str, fields: Mapping[str, Field]) -> dict[str, Any]:
    properties = {key: dict(item.openapi) for key, item in fields.items()}
    return {"type": "object", **_DETAILS.get(name, {}), "properties": properties}


SCHEMAS: dict[str, Any] = {
    **{name: _schema(name, fields) for name, fields in OBJECTS.items()},
    "IdList": {"type": "array", "items": _ID},
    "Me": {
        "type": "object",
        "required": ["enforced", "permissions", "may"],
        "properties": {
            "login": _NULLABLE_STRING,
            "enforced": {"type": "boolean", "description": "false when the node runs with --auth off"},
            "permissions": {"type": "array", "items": {"type": "string"}, "description": "of the user's roles"},
            "may": {"type": "object", "additionalProperties": {"type": "boolean"},
                    "description": "extension: for each permission a route asks for, whether the caller holds it"},
        },
    },
    "NodeStatus": {
        "type": "object",
        "required": ["ip"],
        "description": "what GET /node/status answers on the management listener (docs/NODE.md)",
        "properties": {
            "ip": {"type": "string"}, "name": {"type": "string"}, "idsUsed": {"type": "integer"},
            "idCapacity": {"type": "integer"}, "idsRemaining": {"type": "integer"}, "draining": {"type": "boolean"},
            "drainReason": _NULLABLE_STRING, "accepting": {"type": "boolean"}, "stopping": {"type": "boolean"},
            "running": {"type": "integer"}, "queued": {"type": "integer"},
        },
    },
    "ClusterNodes": {
        "type": "object",
        "required": ["nodes"],
        "properties": {"nodes": {"type": "array", "items": {"allOf": [_ref("NodeStatus"), {
            "type": "object", "required": ["reachable"], "properties": {"reachable": {"type": "boolean"}},
        }]}}},
    },
}  # fmt: skip


def _content(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    return {t: {"schema": schema} for t in types}


_OBJ = (_XML, _JSON)


def _returns(schema: dict[str, Any] | None, *types: str, status: str = "200") -> dict[str, Any]:
    if schema is None:
        return {status: {"description": "done"}}
    return {status: {"description": "OK", "content": _content(schema, *types)}}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


_ERRORS = {
    "400": {"description": "the caller is at fault", "content": _content(_ref("ErrorDto"), *_OBJ)},
    "404": {"description": "no such object", "content": _content(_ref("ErrorDto"), *_OBJ)},
    "410": {
        "description": "the object's node left the cluster and its history expired or was never handed over",
        "content": _content(_ref("ErrorDto"), *_OBJ),
    },
}
_ERROR_DTO = _content(_ref("ErrorDto"), *_OBJ)
_AUTH_ERRORS = {
    "401": {"description": "no valid credential (WWW-Authenticate: Basic)", "content": _ERROR_DTO},
    "403": {"description": "the user lacks the permission", "content": _ERROR_DTO},
    "429": {"description": "too many password checks under way: retry", "content": _ERROR_DTO},
}
SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic", "description": "a user of the node's users files"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token (tokenHash) of the node's users files"},
    "peer": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Jqm-Peer-Signature",
        "description": "node-to-node signature under the cluster secret (with X-Jqm-Forwarded-By and X-Jqm-User)",
    },
}
_PATH_SCHEMAS = {
    "id": _ID,
    "job": _ID,
    "queue": _ID,
    "schedule": _ID,
    "position": {"type": "integer", "format": "int32"},
    "priority": {"type": "integer", "format": "int32"},
    "when": {"type": "integer", "format": "int64", "minimum": 0, "description": "epoch milliseconds"},
}

# (method, path, summary, request body, responses)
Operation = tuple[str, str, str, dict[str, Any] | None, dict[str, Any]]
_C = "/ws/client"
_ID_LIST_BODY = {"required": True, "content": _content(_ref("IdList"), _JSON)}
OPERATIONS: list[Operation] = [
    ("get", f"{_C}/ji", "every job instance (waiting, running, finished) by ID, streamed", None,
     _returns(_list("JobInstance"), *_OBJ)),
    ("post", f"{_C}/ji", "enqueue a JobRequest", {"required": True, "content": _content(_ref("JobRequest"), *_OBJ)},
     _returns(_ref("JobInstance"), *_OBJ)),
    ("get", f"{_C}/ji/active", "the first 50 waiting or running job instances", None,
     _returns(_list("JobInstance"), *_OBJ)),
    ("get", f"{_C}/ji/query", "an empty Query", None, _returns(_ref("Query"), *_OBJ)),
    ("post", f"{_C}/ji/query", "run a Query", {"required": True, "content": _content(_ref("Query"), *_OBJ)},
     _returns(_ref("Query"), *_OBJ)),
    ("post", f"{_C}/ji/query/ids", "run a Query, IDs only",
     {"required": True, "content": _content(_ref("Query"), *_OBJ)}, _returns(_ref("IdList"), _JSON)),
    ("post", f"{_C}/ji/bulk", "enqueue again from history, several jobs", _ID_LIST_BODY,
     _returns(_ref("IdList"), _JSON)),
    ("post", f"{_C}/ji/killed", "kill several jobs", _ID_LIST_BODY, _returns({"type": "integer"}, _JSON)),
    ("post", f"{_C}/ji/paused", "pause several waiting jobs", _ID_LIST_BODY, _returns({"type": "integer"}, _JSON)),
    ("post", f"{_C}/ji/resumed", "resume several paused jobs", _ID_LIST_BODY, _returns({"type": "integer"}, _JSON)),
    ("post", f"{_C}/ji/files", "content of a deliverable given as body",
     {"required": True, "content": _content(_ref("Deliverable"), *_OBJ)}, _returns({"type": "string"}, _BIN)),
    ("get", f"{_C}/ji/files/{{id}}", "content of a deliverable", None, _returns({"type": "string"}, _BIN)),
    ("post", f"{_C}/ji/cancelled/{{id}}", "cancel a waiting job", None, _returns(None, status="204")),
    ("delete", f"{_C}/ji/waiting/{{id}}", "delete a waiting job", None, _returns(None, status="204")),
    ("post", f"{_C}/ji/killed/{{id}}", "kill a job", None, _returns(None, status="204")),
    ("post", f"{_C}/ji/paused/{{id}}", "pause a waiting job", None, _returns(None, status="204")),
    ("delete", f"{_C}/ji/paused/{{id}}", "resume a paused waiting job", None, _returns(None, status="204")),
    ("post", f"{_C}/ji/running/paused/{{id}}", "pause a running job", None, _returns(None, status="204")),
    ("delete", f"{_C}/ji/running/paused/{{id}}", "resume a paused running job", None, _returns(None, status="204")),
    ("delete", f"{_C}/ji/crashed/{{id}}", "restart a crashed job", None, _returns(_ref("JobInstance"), *_OBJ)),
    ("get", f"{_C}/ji/{{id}}", "a job instance", None, _returns(_ref("JobInstance"), *_OBJ)),
    ("post", f"{_C}/ji/{{id}}", "enqueue again from history", None, _returns({"type": "integer"}, _TEXT, _JSON)),
    ("get", f"{_C}/ji/{{id}}/messages", "messages of a job", None,
     _returns({"type": "array", "items": {"type": "string"}}, *_OBJ)),
    ("get", f"{_C}/ji/{{id}}/files", "deliverables of a job", None, _returns(_list("Deliverable"), *_OBJ)),
    ("post", f"{_C}/ji/{{id}}/files/{{name}}", "give a file to a waiting job",
     {"required": True, "content": _content({"type": "string", "format": "binary"}, _BIN)},
     _returns({"type": "integer"}, _TEXT)),
    ("get", f"{_C}/ji/{{id}}/stdout", "stdout of a job", None, _returns({"type": "string"}, _BIN)),
    ("get", f"{_C}/ji/{{id}}/stderr", "stderr of a job", None, _returns({"type": "string"}, _BIN)),
    ("post", f"{_C}/ji/{{id}}/position/{{position}}", "move a waiting job in its queue", None,
     _returns(None, status="204")),
    ("post", f"{_C}/ji/{{id}}/priority/{{priority}}", "change the priority of a job", None,
     _returns(None, status="204")),
    ("post", f"{_C}/ji/{{id}}/delay/{{when}}", "run a waiting job not before a date", None,
     _returns(None, status="204")),
    ("get", f"{_C}/user/{{name}}/ji", "the first 50 active jobs of a user", None,
     _returns(_list("JobInstance"), *_OBJ)),
    ("get", f"{_C}/jr", "an empty JobRequest", None, _returns(_ref("JobRequest"), *_OBJ)),
    ("get", f"{_C}/q", "the queues", None, _returns(_list("Queue"), *_OBJ)),
    ("post", f"{_C}/q/{{queue}}/bulk", "move several waiting jobs to a queue", _ID_LIST_BODY,
     _returns({"type": "integer"}, _JSON)),
    ("post", f"{_C}/q/{{queue}}/jobs", "as q/{queue}/bulk (the path the Java client uses)", _ID_LIST_BODY,
     _returns({"type": "integer"}, _JSON)),
    ("post", f"{_C}/q/{{queue}}/pause", "pause a queue", None, _returns(None, status="204")),
    ("delete", f"{_C}/q/{{queue}}/pause", "resume a queue", None, _returns(None, status="204")),
    ("post", f"{_C}/q/{{queue}}/clear", "delete every waiting job of a queue", None, _returns(None, status="204")),
    ("get", f"{_C}/q/{{queue}}/status", "status of a queue", None,
     _returns({"type": "string", "enum": ["RUNNING", "PARTIALLY_RUNNING", "PAUSED"]}, *_OBJ)),
    ("get", f"{_C}/q/{{queue}}/enabled-capacity", "slots of a queue while enabled", None,
     _returns({"type": "integer"}, _TEXT, _JSON)),
    ("post", f"{_C}/q/{{queue}}/{{job}}", "move a waiting job to a queue", None, _returns(None, status="204")),
    ("get", f"{_C}/jd", "the job definitions", None, _returns(_list("JobDef"), *_OBJ)),
    ("get", f"{_C}/jd/name/{{name}}", "a job definition by name", None, _returns(_ref("JobDef"), *_OBJ)),
    ("get", f"{_C}/jd/{{application}}", "job definitions of an application", None, _returns(_list("JobDef"), *_OBJ)),
    ("delete", f"{_C}/schedule/{{schedule}}", "schedules are not supported: 400", None, {}),
    ("post", f"{_C}/schedule/{{schedule}}/queue/{{queue}}", "schedules are not supported: 400", None, {}),
    ("post", f"{_C}/schedule/{{schedule}}/cron/{{cron}}", "schedules are not supported: 400", None, {}),
    ("post", f"{_C}/schedule/{{schedule}}/priority/{{priority}}", "schedules are not supported: 400", None, {}),
    ("post", "/ws/simple/ji", "enqueue from a form",
     {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
         "type": "object", "required": ["applicationname"],
         "properties": {"applicationname": {"type": "string", "minLength": 1}} | {k: {"type": "string"} for k in (
             "module", "mail", "keyword1", "keyword2", "keyword3", "parentid", "user",
             "sessionid")},
     }}}}, _returns({"type": "integer"}, _TEXT)),
    ("get", "/ws/simple/status", "state of a job (?id=)", None, _returns(_STATE, _TEXT)),
    ("get", "/ws/simple/stdout", "stdout of a job (?id=)", None, _returns({"type": "string"}, _BIN)),
    ("get", "/ws/simple/stderr", "stderr of a job (?id=)", None, _returns({"type": "string"}, _BIN)),
    ("get", "/ws/simple/file", "content of a deliverable (?id=)", None, _returns({"type": "string"}, _BIN)),
    ("get", "/ws/simple/enginelog", "latest lines of the engine log (?latest=)", None,
     _returns({"type": "string"}, _TEXT)),
    ("get", "/ws/simple/localnode/health", "200 while the node dispatches, else 503", None,
     _returns({"type": "string"}, _TEXT)),
    ("get", "/ws/openapi.json", "this document", None, _returns({"type": "object"}, _JSON)),
    ("get", "/ws/admin/me", "who the caller is and which permissions it holds (upstream's route, plus 'may')", None,
     _returns(_ref("Me"), _JSON)),
    ("get", "/ws/cluster/nodes", "the status of every member of the cluster (node:read)", None,
     _returns(_ref("ClusterNodes"), _JSON)),
    ("get", "/console", "the web console: a redirect to /console/", None,
     {"301": {"description": "to /console/", "headers": {"Location": {"schema": {"type": "string"}}}}}),
    ("get", "/console/", "the web console's page (public; its data calls need a credential)", None,
     _returns({"type": "string"}, "text/html") | {"304": {"description": "not modified (If-None-Match)"}}),
    ("get", "/console/{name}", "a file of the web console (public)", None,
     _returns({"type": "string"}, "text/javascript", "text/css", "image/svg+xml")
     | {"304": {"description": "not modified (If-None-Match)"}}),
    ("post", "/peer/handover", "node-to-node: the finished history of a member that leaves (NDJSON)",
     {"required": True, "description": "NDJSON (application/x-ndjson): a header line, then one line per job",
      "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
     _returns({"type": "object"}, _JSON)
     | {"503": {"description": "this node is leaving too", "content": _content(_ref("ErrorDto"), *_OBJ)}}),
    ("get", "/peer/status", "node-to-node: this node's status (for GET /ws/cluster/nodes)", None,
     _returns(_ref("NodeStatus"), _JSON)),
]  # fmt: skip
PUBLIC_PATHS = frozenset({"/ws/simple/localnode/health", "/console", "/console/", "/console/{name}"})
PEER_PATHS = frozenset({"/peer/handover", "/peer/status"})
"""Called by the other nodes of the cluster only, with a peer signature instead of a user's credential."""
_PEER_ERRORS = {
    "401": {"description": "not signed by a node of the cluster (X-Jqm-Peer-Signature)", "content": _ERROR_DTO}
}

_QUERY_PARAMS = {
    "/ws/simple/status": [("id", _ID, True)],
    "/ws/simple/stdout": [("id", _ID, True)],
    "/ws/simple/stderr": [("id", _ID, True)],
    "/ws/simple/file": [("id", _ID, True)],
    "/ws/simple/enginelog": [("latest", {"type": "integer", "minimum": 0, "maximum": 10000}, False)],
}


def _parameters(path: str) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(name, {"type": "string"})}
        for name in (part[1:-1] for part in path.split("/") if part.startswith("{"))
    ]
    params += [
        {"name": name, "in": "query", "required": required, "schema": schema}
        for name, schema, required in _QUERY_PARAMS.get(path, [])
    ]
    return params


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, responses in OPERATIONS:
        if path in PUBLIC_PATHS:
            errors = _ERRORS
        elif path in PEER_PATHS:
            errors = {**_ERRORS, **_PEER_ERRORS}
        else:
            errors = {**_ERRORS, **_AUTH_ERRORS}
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": f"{method}{path.replace('/', '_').replace('{', '').replace('}', '')}",
            "responses": {**responses, **errors},
        }
        if path in PUBLIC_PATHS:
            operation["security"] = []
        elif path in PEER_PATHS:
            operation["security"] = [{"peer": []}]
        parameters = _parameters(path)
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = body
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "JQM standalone node",
            "version": __version__,
            "description": "JQM's simple and client web services. Client objects are XML (JAXB style) by "
            "default, JSON with Accept: application/json. Every call but health needs HTTP Basic or a bearer "
            "token (unless the node runs with --auth off), and the permission docs/NODE.md lists for it; /peer/ "
            "routes are called by the other nodes of the cluster only, with a node-to-node signature.",
        },
        "paths": paths,
        "security": [{"basic": []}, {"bearer": []}],
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


DOCUMENT = build_document()
_BODY = json.dumps(DOCUMENT, separators=(",", ":")).encode()


async def get_document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")


def routes() -> list[Route]:
    return [route(web.get("/ws/openapi.json", get_document))]
