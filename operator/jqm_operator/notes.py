"""What the services tell users: each :class:`Note` becomes a Kubernetes Event on the JqmCluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Note:
    """Something a user should see as an Event on the JqmCluster (never a secret value)."""

    type: str  # Normal or Warning
    reason: str
    message: str
