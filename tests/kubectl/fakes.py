"""A JqmCluster without Kubernetes: scripted node answers behind the real JqmClient, and a stand-in
for ClusterAccess, so commands run end to end in memory."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jqm_client import BasicAuth, JqmClient
from jqm_client.http import HttpRequest, HttpResponse, Sink
from jqm_kubectl.context import Context
from jqm_kubectl.kube import Pod

Responder = Callable[[HttpRequest], HttpResponse]


def json_answer(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status=status, headers={"content-type": "application/json"}, body=json.dumps(data).encode())


def error_answer(status: int, message: str, code: int) -> HttpResponse:
    return json_answer({"userReadableMessage": message, "errorCode": code}, status)


def job_json(job_id: int = 42, state: str = "SUBMITTED", app: str = "DemoEcho", **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "applicationName": app,
        "state": state,
        "queueName": "DEFAULT",
        "parameters": [],
        "enqueueDate": 1_700_000_000_000,
        **extra,
    }


@dataclass
class ScriptedTransport:
    """Answers by ``(method, path)``; a list of answers is used in turn (the last one repeats)."""

    routes: dict[tuple[str, str], HttpResponse | list[HttpResponse] | Responder]
    seen: list[HttpRequest] = field(default_factory=list)

    def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse:
        self.seen.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return error_answer(404, f"no route {request.method} {request.path}", 1)
        if callable(route):
            return route(request)
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route

    def close(self) -> None:
        pass


class FakeSession:
    namespace = "jobs"

    def __init__(self, events: list[dict[str, Any]] | None = None) -> None:
        self._events = events or []

    def events(self, cluster: str, *, limit: int) -> list[dict[str, Any]]:
        return self._events[-limit:]


@dataclass
class FakeAccess:
    """What the commands use of :class:`jqm_kubectl.access.ClusterAccess`."""

    transport: ScriptedTransport
    name: str = "demo"
    cluster: dict[str, Any] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    node_statuses: dict[str, dict[str, Any] | Exception] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    session: FakeSession = field(default_factory=FakeSession)
    auth: BasicAuth | None = None

    def client(self) -> JqmClient:
        return JqmClient(transport=self.transport, auth=self.auth)

    def node_status(self, pod: Pod) -> dict[str, Any]:
        answer = self.node_statuses[pod.name]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def management(self, pod: Pod, path: str) -> bytes:
        return self.metrics.get(pod.name, "").encode()


@dataclass
class Outputs:
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)
    out_bytes: io.BytesIO = field(default_factory=io.BytesIO)
    err_bytes: io.BytesIO = field(default_factory=io.BytesIO)


def context(access: FakeAccess, outputs: Outputs, clusters: list[dict[str, Any]] | None = None) -> Context:
    return Context(
        out=outputs.out,
        err=outputs.err,
        out_bytes=outputs.out_bytes,
        err_bytes=outputs.err_bytes,
        open_cluster=lambda name: access,  # type: ignore[arg-type,return-value]
        list_clusters=lambda: clusters if clusters is not None else [{"metadata": {"name": access.name}}],
        namespace="jobs",
    )
