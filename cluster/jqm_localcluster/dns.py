"""Cluster DNS for pods, on the bridge address (UDP 53): <svc>.<ns>.svc.cluster.local answers the
Service's cluster IP, or for a headless Service its ready endpoint addresses;
<hostname>.<svc>.<ns>.svc.cluster.local answers that endpoint. Any other name is NXDOMAIN at once:
nothing is forwarded anywhere."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from jqm_localcluster import layout

log = logging.getLogger("dns")
Obj = dict[str, Any]

TTL = 5
TYPE_A, CLASS_IN = 1, 1
NOERROR, NXDOMAIN = 0, 3


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    question: bytes  # the question section as received, echoed in the answer


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise ValueError("short packet")
    qid, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qdcount != 1:
        raise ValueError("not a single-question query")
    labels, off = [], 12
    while True:
        if off >= len(data):
            raise ValueError("truncated name")
        length = data[off]
        off += 1
        if length == 0:
            break
        if length > 63:
            raise ValueError("compressed or bad label")
        labels.append(data[off : off + length].decode("ascii", "replace").lower())
        off += length
    if off + 4 > len(data):
        raise ValueError("truncated question")
    qtype, _qclass = struct.unpack("!HH", data[off : off + 4])
    return Query(qid, flags, ".".join(labels), qtype, data[12 : off + 4])


def response(query: Query, rcode: int, addresses: list[str]) -> bytes:
    """An authoritative answer with A records (pointing at the question's name)."""
    answers = [a for a in addresses if query.qtype == TYPE_A]
    flags = 0x8000 | 0x0400 | (query.flags & 0x0100) | rcode
    header = struct.pack("!HHHHHH", query.id, flags, 1, len(answers), 0, 0)
    records = b"".join(struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, 4) + socket.inet_aton(a) for a in answers)
    return header + query.question + records


def endpoint_addresses(slices: list[Obj], hostname: str | None = None, include_unready: bool = False) -> list[str]:
    found = []
    for s in slices:
        if s.get("addressType") != "IPv4":
            continue
        for ep in s.get("endpoints") or []:
            if hostname is not None and ep.get("hostname") != hostname:
                continue
            if include_unready or ep.get("conditions", {}).get("ready") is not False:
                found.extend(ep.get("addresses", [])[:1])
    return sorted(set(found))


def resolve(name: str, services: Mapping[str, Obj], slices_of: Callable[[str], list[Obj]]) -> list[str] | None:
    """Addresses for a name; None when the name does not exist (NXDOMAIN)."""
    suffix = f".svc.{layout.CLUSTER_DOMAIN}"
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    if len(labels) not in (2, 3):
        return None
    hostname = labels[0] if len(labels) == 3 else None
    svc_name, ns = labels[-2], labels[-1]
    svc = services.get(f"{ns}/{svc_name}")
    if svc is None:
        return None
    spec = svc.get("spec", {})
    cluster_ip = spec.get("clusterIP")
    if hostname is None and cluster_ip and cluster_ip != "None":
        return [cluster_ip]
    addresses = endpoint_addresses(slices_of(f"{ns}/{svc_name}"), hostname, bool(spec.get("publishNotReadyAddresses")))
    return None if hostname is not None and not addresses else addresses


class DnsProtocol(asyncio.DatagramProtocol):
    def __init__(self, lookup: Callable[[str], list[str] | None]) -> None:
        self.lookup = lookup
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = parse_query(data)
        except ValueError as exc:
            log.debug("bad query from %s: %s", addr, exc)
            return
        addresses = self.lookup(query.name)
        rcode = NXDOMAIN if addresses is None else NOERROR
        if self.transport is not None:
            self.transport.sendto(response(query, rcode, addresses or []), addr)


async def serve(host: str, lookup: Callable[[str], list[str] | None], port: int = 53) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: DnsProtocol(lookup), local_addr=(host, port))
    return transport
