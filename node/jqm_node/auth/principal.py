"""Who a request acts for, once its credential is verified."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from jqm_node.auth.permissions import Permission


@dataclass(slots=True, eq=False)
class Principal:
    name: str
    permissions: frozenset[Permission]
    _decided: dict[Permission, bool] = field(default_factory=dict, repr=False)

    def may(self, wanted: Permission) -> bool:
        """True if one of the principal's permissions implies ``wanted`` (answers are memoized)."""
        decided = self._decided.get(wanted)
        if decided is None:
            decided = self._decided[wanted] = any(held.implies(wanted) for held in self.permissions)
        return decided


PRINCIPAL = web.RequestKey("jqm.principal", Principal)
"""Request key: the :class:`Principal` a request acts for (absent: open node, or a public route)."""


def acting_user(request: web.Request) -> str:
    """The name a request acts for: a user, a job's login, or what a peer said (empty if none)."""
    principal = request.get(PRINCIPAL)
    return principal.name if principal is not None else ""
