"""Who may call what on the client listener: the one route -> permission table, and its enforcement.

:data:`ROUTE_RULES` gives every route of the client listener its rule; :func:`build_access` refuses
to start a node whose routes and table disagree, and the middleware authorizes every request from
it. The permissions are upstream's, read from its web application's ``shiro.ini`` (first matching
URL pattern wins; ``rest[x]`` means ``x:read`` for GET, ``x:create`` for POST, ``x:delete`` for
DELETE), where upstream's patterns match what they intend. Where they do not, the intent wins; these
are listed in docs/NODE.md ("Where we differ from upstream"):

- ``POST ji/{id}/position/{n}``: upstream's pattern ``ji/*/position**`` never matches a path with
  the position after it, so upstream asks ``job_instance:create``; the rule is ``queue_position:create``,
  as the pattern and the ``client`` role's description ("except ... altering position") intend;
- ``POST ji/query/ids``: upstream's ``ji/query`` pattern does not cover it and it falls to
  ``rest[job_instance]`` (``job_instance:create`` for a read); the rule is ``job_instance:read``.

Upstream sends routes no pattern names (``enginelog``, ``jr``) to ``perms[doesnotexistsoadminonly]``:
only a holder of ``*`` (the ``administrator`` role) may call them, here too. The OpenAPI document,
ours, needs a valid credential and no permission, as upstream's ``/ws/admin/me`` (served here too);
the cluster's node statuses need ``node:read`` (upstream's ``rest[node]``). Health and the web
console's static files are public (the console's data calls are API calls).

Node-to-node requests (``X-Jqm-Forwarded-By``) are not authorized here: the entry node did that.
They must carry a valid signature (:mod:`jqm_node.cluster.peerauth`) or are refused 401, never
handled. Routes under ``/peer/`` accept only such signed requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_urldispatcher import AbstractRoute

from jqm_node.api.representation import error_response
from jqm_node.auth.errors import AuthenticationBusyError, AuthenticationRequiredError, PermissionDeniedError
from jqm_node.auth.permissions import Permission
from jqm_node.auth.principal import PRINCIPAL, Principal
from jqm_node.auth.verifier import CredentialVerifier, authorization_of
from jqm_node.cluster import peerauth
from jqm_node.logs import ThrottledWarning

log = logging.getLogger(__name__)

CHALLENGE = 'Basic realm="JQM", charset="UTF-8"'
PEER_PREFIX = "/peer/"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    """``public``, ``authenticated`` (any valid credential), ``permission`` or ``peer`` (signed only)."""
    permission: Permission | None = None

    def __str__(self) -> str:
        return str(self.permission) if self.permission else self.kind


PUBLIC = Rule("public")
AUTHENTICATED = Rule("authenticated")
PEER = Rule("peer")
ADMIN_ONLY = Rule("permission", Permission.parse("*:*"))
"""Upstream's ``perms[doesnotexistsoadminonly]``: only a ``*`` permission implies it."""


def needs(permission: str) -> Rule:
    return Rule("permission", Permission.parse(permission))


_C = "/ws/client"
_READ, _CREATE, _DELETE = needs("job_instance:read"), needs("job_instance:create"), needs("job_instance:delete")
_POSITION = needs("queue_position:create")

ROUTE_RULES: dict[tuple[str, str], Rule] = {
    # /ws/simple
    ("POST", "/ws/simple/ji"): _CREATE,
    ("GET", "/ws/simple/status"): _READ,
    ("GET", "/ws/simple/stdout"): needs("logs:read"),
    ("GET", "/ws/simple/stderr"): needs("logs:read"),
    ("GET", "/ws/simple/file"): _READ,
    ("GET", "/ws/simple/enginelog"): ADMIN_ONLY,
    ("GET", "/ws/simple/localnode/health"): PUBLIC,
    # /ws/client: job instances
    ("GET", f"{_C}/ji/query"): _READ,
    ("POST", f"{_C}/ji/query"): _READ,
    ("POST", f"{_C}/ji/query/ids"): _READ,
    ("POST", f"{_C}/ji/files"): needs("files:read"),
    ("GET", f"{_C}/ji/files/{{id}}"): needs("files:read"),
    ("GET", f"{_C}/ji/{{id}}/stdout"): needs("logs:read"),
    ("GET", f"{_C}/ji/{{id}}/stderr"): needs("logs:read"),
    ("POST", f"{_C}/ji/{{id}}/position/{{position}}"): _POSITION,
    ("GET", f"{_C}/user/{{name}}/ji"): needs("job_instance"),
    ("GET", f"{_C}/ji"): _READ,
    ("POST", f"{_C}/ji"): _CREATE,
    ("GET", f"{_C}/ji/active"): _READ,
    ("POST", f"{_C}/ji/bulk"): _CREATE,
    ("POST", f"{_C}/ji/killed"): _CREATE,
    ("POST", f"{_C}/ji/paused"): _CREATE,
    ("POST", f"{_C}/ji/resumed"): _CREATE,
    ("POST", f"{_C}/ji/cancelled/{{id}}"): _CREATE,
    ("DELETE", f"{_C}/ji/waiting/{{id}}"): _DELETE,
    ("POST", f"{_C}/ji/killed/{{id}}"): _CREATE,
    ("POST", f"{_C}/ji/paused/{{id}}"): _CREATE,
    ("DELETE", f"{_C}/ji/paused/{{id}}"): _DELETE,
    ("POST", f"{_C}/ji/running/paused/{{id}}"): _CREATE,
    ("DELETE", f"{_C}/ji/running/paused/{{id}}"): _DELETE,
    ("DELETE", f"{_C}/ji/crashed/{{id}}"): _DELETE,
    ("GET", f"{_C}/ji/{{id}}"): _READ,
    ("POST", f"{_C}/ji/{{id}}"): _CREATE,
    ("GET", f"{_C}/ji/{{id}}/messages"): _READ,
    ("GET", f"{_C}/ji/{{id}}/files"): _READ,
    ("POST", f"{_C}/ji/{{id}}/files/{{name}}"): _CREATE,
    ("POST", f"{_C}/ji/{{id}}/priority/{{priority}}"): _CREATE,
    ("POST", f"{_C}/ji/{{id}}/delay/{{when}}"): _CREATE,
    ("GET", f"{_C}/jr"): ADMIN_ONLY,
    # /ws/client: queues (upstream: q/*/* is queue_position:create, the rest rest[queue])
    ("GET", f"{_C}/q"): needs("queue:read"),
    ("POST", f"{_C}/q/{{queue}}/bulk"): _POSITION,
    ("POST", f"{_C}/q/{{queue}}/jobs"): _POSITION,
    ("POST", f"{_C}/q/{{queue}}/pause"): _POSITION,
    ("DELETE", f"{_C}/q/{{queue}}/pause"): _POSITION,
    ("POST", f"{_C}/q/{{queue}}/clear"): _POSITION,
    ("GET", f"{_C}/q/{{queue}}/status"): _POSITION,
    ("GET", f"{_C}/q/{{queue}}/enabled-capacity"): _POSITION,
    ("POST", f"{_C}/q/{{queue}}/{{job}}"): _POSITION,
    # /ws/client: job definitions (rest[jd]) and schedules (rest[job_instance])
    ("GET", f"{_C}/jd"): needs("jd:read"),
    ("GET", f"{_C}/jd/name/{{name}}"): needs("jd:read"),
    ("GET", f"{_C}/jd/{{application}}"): needs("jd:read"),
    ("DELETE", f"{_C}/schedule/{{schedule}}"): _DELETE,
    ("POST", f"{_C}/schedule/{{schedule}}/queue/{{queue}}"): _CREATE,
    ("POST", f"{_C}/schedule/{{schedule}}/cron/{{cron}}"): _CREATE,
    ("POST", f"{_C}/schedule/{{schedule}}/priority/{{priority}}"): _CREATE,
    # ours
    ("GET", "/ws/openapi.json"): AUTHENTICATED,
    ("GET", "/ws/admin/me"): AUTHENTICATED,  # upstream's route: who the caller is, what it may do
    ("GET", "/ws/cluster/nodes"): needs("node:read"),  # every member's status (upstream: rest[node])
    # the web console's static files (its data calls are the API calls above)
    ("GET", "/console"): PUBLIC,
    ("GET", "/console/"): PUBLIC,
    ("GET", "/console/{name}"): PUBLIC,
    # node-to-node (signed by a member, never called by clients)
    ("POST", "/peer/handover"): PEER,
    ("GET", "/peer/status"): PEER,
}


def route_key(route: AbstractRoute) -> tuple[str, str] | None:
    """(method, canonical path) of a route, HEAD as its GET (Shiro maps both to ``read``)."""
    if route.resource is None:
        return None
    return ("GET" if route.method == "HEAD" else route.method, route.resource.canonical)


def rules_for(routes: Iterable[AbstractRoute], table: dict[tuple[str, str], Rule]) -> dict[AbstractRoute, Rule]:
    """Each route's rule; raises RuntimeError if a route has none or a rule names no route."""
    found: dict[AbstractRoute, Rule] = {}
    used: set[tuple[str, str]] = set()
    for route in routes:
        key = route_key(route)
        if key is None:
            continue
        rule = table.get(key)
        if rule is None:
            raise RuntimeError(f"route {key[0]} {key[1]} has no access rule in jqm_node.api.access.ROUTE_RULES")
        if key[1].startswith(PEER_PREFIX) and rule is not PEER:
            raise RuntimeError(f"route {key[0]} {key[1]} is under {PEER_PREFIX} and must be a PEER route")
        found[route] = rule
        used.add(key)
    unused = sorted(set(table) - used)
    if unused:
        raise RuntimeError(f"access rules for routes that do not exist: {unused}")
    return found


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def access_middleware(
    *, rules: dict[AbstractRoute, Rule], verifier: CredentialVerifier | None, cluster_secret: bytes | None
) -> Middleware:
    """Authenticates and authorizes each request (``verifier`` None: authentication is off)."""
    refusals = ThrottledWarning(log, "refused a node-to-node call")

    def peer_call(request: web.Request) -> Principal:
        if cluster_secret is None:
            if verifier is None:  # open node without a cluster secret: the marker is trusted, as before
                return Principal(request.headers.get(peerauth.USER, ""), frozenset())
            raise AuthenticationRequiredError("node-to-node call refused: this node has no cluster secret")
        try:
            call = peerauth.verify(
                cluster_secret, method=request.method, path_qs=request.raw_path, headers=request.headers
            )
        except peerauth.PeerSignatureError as e:
            refusals.note(f"from {request.remote} for {request.method} {request.path}: {e}")
            raise AuthenticationRequiredError(f"node-to-node call refused: {e}") from None
        return Principal(call.user, frozenset())

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        rule = rules.get(route)
        try:
            if peerauth.FORWARDED_BY in request.headers or rule is PEER:
                request[PRINCIPAL] = peer_call(request)  # the entry node authorized the call
            elif rule is not PUBLIC and verifier is not None:
                principal = await verifier.authenticate(authorization_of(request.headers))
                if rule is not None and rule.permission is not None and not principal.may(rule.permission):
                    raise PermissionDeniedError(
                        f"user {principal.name!r} lacks the permission {rule.permission} "
                        f"needed for {request.method} {request.path}"
                    )
                request[PRINCIPAL] = principal
        except AuthenticationRequiredError as e:
            response = error_response(request, e)
            response.headers["WWW-Authenticate"] = CHALLENGE
            return response
        except AuthenticationBusyError as e:
            response = error_response(request, e)
            response.headers["Retry-After"] = "1"
            return response
        return await handler(request)

    return middleware
