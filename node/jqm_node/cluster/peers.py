"""Which addresses a node may talk to, and who its peers are.

Upstream forwards a request to whatever IPv4 a job ID decodes to, so any caller can make a node
connect anywhere (``GET /ws/client/ji/<id of 169.254.169.254>``). Here a node only ever connects to
addresses inside the configured peer networks, never to itself, and by default to nothing at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

DNS_CACHE_SECONDS = 5.0


def parse_cidrs(raw: str | None) -> tuple[ipaddress.IPv4Network, ...]:
    """``"10.244.0.0/16, 127.0.0.0/8"`` to networks; raises ValueError naming the bad entry."""
    networks = []
    for item in (raw or "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.IPv4Network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IPv4 network: {item!r}") from None
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class PeerPolicy:
    self_ip: str
    networks: tuple[ipaddress.IPv4Network, ...] = ()

    def may_contact(self, ip: str) -> bool:
        if ip == self.self_ip:
            return False
        address = ipaddress.IPv4Address(ip)
        return any(address in network for network in self.networks)


@dataclass(slots=True)
class PeerDirectory:
    """The other nodes of the cluster: a static list (``JQM_PEERS``) and/or a DNS name whose A
    records are the nodes (``JQM_PEERS_DNS``, the operator's headless Service), always filtered
    through the policy."""

    policy: PeerPolicy
    static: Sequence[str] = ()
    dns_name: str | None = None
    _cached: tuple[float, tuple[str, ...]] = field(default=(0.0, ()))

    @property
    def configured(self) -> bool:
        return bool(self.static or self.dns_name)

    async def peers(self) -> tuple[str, ...]:
        found = set(self.static)
        if self.dns_name:
            found.update(await self._resolve())
        return tuple(sorted((ip for ip in found if self.policy.may_contact(ip)), key=ipaddress.IPv4Address))

    async def _resolve(self) -> tuple[str, ...]:
        expires, addresses = self._cached
        if time.monotonic() < expires:
            return addresses
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.dns_name, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
        except socket.gaierror:
            addresses = ()  # no ready peer yet: the headless Service has no address
        else:
            addresses = tuple(sorted({str(info[4][0]) for info in infos}))
        self._cached = (time.monotonic() + DNS_CACHE_SECONDS, addresses)
        return addresses
