"""Membership: self, static peers and DNS A records; cached, re-resolved on a miss, never a query storm."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest

from jqm_node.cluster import membership as module
from jqm_node.cluster.membership import DNS_TTL, MISS_REFRESH_SECONDS, Membership


class FakeDns:
    """Answers getaddrinfo for one name from a mutable list, counting queries (no real DNS traffic)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.queries = 0
        self.error: socket.gaierror | None = None
        self.delay = 0.0

    async def getaddrinfo(self, host: str, *_: Any, **__: Any) -> list[Any]:
        self.queries += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in self.addresses]


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns("127.0.0.3")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    now = [1000.0]
    monkeypatch.setattr(module, "monotonic", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


async def patched(dns: FakeDns) -> None:
    asyncio.get_running_loop().getaddrinfo = dns.getaddrinfo  # type: ignore[method-assign]


async def test_members_are_self_static_and_dns(dns: FakeDns) -> None:
    await patched(dns)
    members = Membership(self_ip="127.0.0.2", static=("127.0.0.4", "127.0.0.2"), dns_name="peers.test")
    assert members.configured
    assert await members.members() == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert await members.peers() == ("127.0.0.3", "127.0.0.4")
    assert await members.is_member("127.0.0.3")
    alone = Membership(self_ip="127.0.0.2", static=("127.0.0.2",))
    assert not alone.configured
    assert await alone.members() == {"127.0.0.2"}
    assert not await alone.is_member("127.0.0.9")


async def test_dns_answer_is_cached_then_refreshed(dns: FakeDns, clock: Callable[[float], None]) -> None:
    await patched(dns)
    members = Membership(self_ip="127.0.0.2", dns_name="peers.test")
    await members.members()
    clock(DNS_TTL - 0.1)
    await members.members()
    assert dns.queries == 1
    dns.addresses = ["127.0.0.5"]
    clock(0.2)
    assert await members.members() == {"127.0.0.2", "127.0.0.5"}
    assert dns.queries == 2


async def test_a_miss_resolves_again_at_most_every_half_second(dns: FakeDns, clock: Callable[[float], None]) -> None:
    await patched(dns)
    members = Membership(self_ip="127.0.0.2", dns_name="peers.test")
    await members.members()
    dns.addresses = ["127.0.0.3", "127.0.0.6"]  # a node just started
    clock(MISS_REFRESH_SECONDS)
    assert await members.is_member("127.0.0.6")
    queries = dns.queries
    for _ in range(50):  # a flood of calls for an address that is no member
        assert not await members.is_member("127.0.0.99")
    assert dns.queries == queries


async def test_concurrent_misses_share_one_query(dns: FakeDns, clock: Callable[[float], None]) -> None:
    await patched(dns)
    dns.delay = 0.05
    members = Membership(self_ip="127.0.0.2", dns_name="peers.test")
    await members.members()
    clock(MISS_REFRESH_SECONDS)
    answers = await asyncio.gather(*(members.is_member("127.0.0.99") for _ in range(20)))
    assert answers == [False] * 20
    assert dns.queries == 2


async def test_missing_name_means_no_dns_member_and_a_failure_keeps_the_last_answer(
    dns: FakeDns, clock: Callable[[float], None]
) -> None:
    await patched(dns)
    members = Membership(self_ip="127.0.0.2", dns_name="peers.test")
    assert await members.is_member("127.0.0.3")
    dns.error = socket.gaierror(socket.EAI_AGAIN, "temporary failure")
    clock(DNS_TTL)
    assert await members.is_member("127.0.0.3"), "a resolver hiccup does not empty the cluster"
    dns.error = socket.gaierror(socket.EAI_NONAME, "no such name")
    clock(DNS_TTL)
    assert not await members.is_member("127.0.0.3")


async def test_a_failed_resolution_is_remembered_until_one_answers(
    dns: FakeDns, clock: Callable[[float], None]
) -> None:
    await patched(dns)
    members = Membership(self_ip="127.0.0.2", dns_name="peers.test")
    assert members.dns_failure == "not resolved yet"
    dns.error = socket.gaierror(socket.EAI_AGAIN, "temporary failure")
    assert not await members.is_member("127.0.0.3")
    assert members.dns_failure is not None and "cannot resolve peers.test" in members.dns_failure
    dns.error, dns.delay = None, module.RESOLVE_TIMEOUT + 0.5  # a DNS server that does not answer in time
    clock(DNS_TTL)
    assert not await members.is_member("127.0.0.3")
    assert members.dns_failure == f"resolving peers.test took over {module.RESOLVE_TIMEOUT:g}s"
    dns.delay = 0.0
    clock(DNS_TTL)
    assert await members.is_member("127.0.0.3")
    assert members.dns_failure is None
    dns.error = socket.gaierror(socket.EAI_NONAME, "no such name")  # an answer: no endpoint
    clock(DNS_TTL)
    assert not await members.is_member("127.0.0.3")
    assert members.dns_failure is None
    assert Membership(self_ip="127.0.0.2", static=("127.0.0.3",)).dns_failure is None
