"""Which requests are about one job (or deliverable), and which job: what forwarding needs to know.

A route declares it where it is registered (:mod:`jqm_node.api.routes`): its :class:`JobScope` names
the path or query parameter that holds the job or deliverable ID. Both kinds of ID encode the creating
node's address, so that is all forwarding needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource

from jqm_node.ids import ID_CEILING


@dataclass(frozen=True, slots=True)
class JobScope:
    """Where a job-scoped route carries its job (or deliverable) ID: a path or a query parameter."""

    path_parameter: str | None = None
    query_parameter: str | None = None

    def raw_id(self, request: web.Request) -> str | None:
        if self.path_parameter is not None:
            return request.match_info.get(self.path_parameter)
        if self.query_parameter is not None:
            return request.query.get(self.query_parameter)
        return None


ScopeKey = tuple[AbstractResource, str]
"""A registered resource and a method (HEAD counts as GET)."""


def scope_key(resource: AbstractResource, method: str) -> ScopeKey:
    return resource, "GET" if method == "HEAD" else method


def id_finder(scopes: Mapping[ScopeKey, JobScope]) -> Callable[[web.Request], int | None]:
    """The ID a request is about, or None (not job-scoped, or not a valid ID: the handler says why)."""

    def object_id_of(request: web.Request) -> int | None:
        if request.match_info.http_exception is not None:
            return None  # no such route or method: answered locally with 404/405
        route = request.match_info.route
        if route.resource is None:
            return None
        scope = scopes.get(scope_key(route.resource, request.method))
        raw = scope.raw_id(request) if scope is not None else None
        if raw is None or not (raw.isascii() and raw.isdigit()):
            return None
        value = int(raw)
        return value if value < ID_CEILING else None

    return object_id_of
