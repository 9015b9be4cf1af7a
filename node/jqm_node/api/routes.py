"""The routes of the client listener, each with what the node must know of it beyond its handler.

An API module lists its routes as :class:`Route` values; a route about one job (or deliverable) says
so where it is listed, with :func:`job_route` (the ID in a path parameter) or :func:`job_query_route`
(the ID in a query parameter): such routes are run on the node that owns the job (forwarding). Who may
call each route is :data:`jqm_node.api.access.ROUTE_RULES`' business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from jqm_node.cluster.routing import JobScope, ScopeKey, scope_key


@dataclass(frozen=True, slots=True)
class Route:
    definition: web.RouteDef
    scope: JobScope | None = None
    """Where the route carries the ID of the job it is about; None: it is about no single job."""


def route(definition: web.RouteDef) -> Route:
    """A route about no single job: answered by the node that got it."""
    return Route(definition)


def job_route(definition: web.RouteDef, *, parameter: str = "id") -> Route:
    """A route about one job or deliverable whose ID is the path parameter ``parameter``."""
    return Route(definition, JobScope(path_parameter=parameter))


def job_query_route(definition: web.RouteDef, *, parameter: str = "id") -> Route:
    """A route about one job or deliverable whose ID is the query parameter ``parameter`` (the simple API)."""
    return Route(definition, JobScope(query_parameter=parameter))


def register(router: web.UrlDispatcher, routes: Iterable[Route]) -> dict[ScopeKey, JobScope]:
    """Adds ``routes`` to ``router``; returns the scope of each job-scoped one, as forwarding reads it."""
    scopes: dict[ScopeKey, JobScope] = {}
    for item in routes:
        for registered in item.definition.register(router):
            if item.scope is not None and registered.resource is not None:
                scopes[scope_key(registered.resource, registered.method)] = item.scope
    return scopes
