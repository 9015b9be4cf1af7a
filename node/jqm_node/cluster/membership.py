"""Who the members of this node's cluster are: itself, ``JQM_PEERS`` and the A records of ``JQM_PEERS_DNS``.

A node talks to members only: it forwards a call to the owner of a job only when that owner is a
member, never because an ID decodes to some address (upstream connects to whatever address an ID
decodes to, so any caller could make a node connect anywhere). The operator's headless
``<cluster>-peers`` Service publishes not-ready addresses, so draining and terminating nodes stay
members while they still answer; two clusters never share members, so they never reach each
other's jobs.

DNS answers are cached for ``DNS_TTL`` seconds. An address that is not in the cached answer makes
the name be resolved again (a new node may have just started), at most once per
``MISS_REFRESH_SECONDS`` however many calls miss, so a flood of calls for unknown addresses cannot
turn into a flood of DNS queries. A failed resolution keeps the last answer and is remembered
(:attr:`Membership.dns_failure`): "not a member" is then a guess, which must not become a definitive
answer such as 410. A name that does not exist (no endpoint yet) means no DNS member.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from time import monotonic

log = logging.getLogger(__name__)

DNS_TTL = 2.0
MISS_REFRESH_SECONDS = 0.5
RESOLVE_TIMEOUT = 2.0
_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)


class Membership:
    def __init__(self, *, self_ip: str, static: Sequence[str] = (), dns_name: str | None = None) -> None:
        self.self_ip = self_ip
        self.static = frozenset(static)
        self.dns_name = dns_name
        self._dns: frozenset[str] = frozenset()
        self._resolved_at = float("-inf")
        self._resolving: asyncio.Task[None] | None = None
        self.resolutions = 0
        self.dns_failure: str | None = "not resolved yet" if dns_name else None
        """Why the last resolution of the DNS name gave no answer (None once one answered): until one
        answers again, an address missing from the members may be a member all the same."""

    @property
    def configured(self) -> bool:
        """True when the node has peers at all (else it is a cluster of one, as upstream's standalone node)."""
        return bool(self.static - {self.self_ip} or self.dns_name)

    async def members(self) -> frozenset[str]:
        """Every member, this node included."""
        if self.dns_name and monotonic() - self._resolved_at >= DNS_TTL:
            await self._refresh()
        return self.static | self._dns | {self.self_ip}

    async def peers(self) -> tuple[str, ...]:
        """The other members, in address order."""
        others = await self.members() - {self.self_ip}
        return tuple(sorted(others, key=ipaddress.IPv4Address))

    async def is_member(self, ip: str) -> bool:
        if ip in (await self.members()):
            return True
        if self.dns_name and monotonic() - self._resolved_at >= MISS_REFRESH_SECONDS:
            await self._refresh()
            return ip in self._dns
        return False

    async def _refresh(self) -> None:
        """Resolves the DNS name once for all the callers waiting at the same time."""
        if self._resolving is None:
            self._resolving = asyncio.get_running_loop().create_task(self._resolve())
        await asyncio.shield(self._resolving)

    async def _resolve(self) -> None:
        assert self.dns_name is not None
        loop = asyncio.get_running_loop()
        self.resolutions += 1
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(self.dns_name, None, family=socket.AF_INET, type=socket.SOCK_STREAM),
                RESOLVE_TIMEOUT,
            )
        except socket.gaierror as e:
            if e.errno in _NO_SUCH_NAME:
                self._dns = frozenset()  # the headless Service has no address yet
                self.dns_failure = None
            else:
                self.dns_failure = f"cannot resolve {self.dns_name} ({e})"
                log.warning("%s; keeping the last %d member(s)", self.dns_failure, len(self._dns))
        except TimeoutError:
            self.dns_failure = f"resolving {self.dns_name} took over {RESOLVE_TIMEOUT:g}s"
            log.warning("%s; keeping the last %d member(s)", self.dns_failure, len(self._dns))
        else:
            self._dns = frozenset(str(info[4][0]) for info in infos)
            self.dns_failure = None
        finally:
            self._resolved_at = monotonic()
            self._resolving = None
