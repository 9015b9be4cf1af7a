import ipaddress

import pytest

from jqm_node.cluster.peers import PeerDirectory, PeerPolicy, parse_cidrs


def test_parse_cidrs() -> None:
    assert parse_cidrs("10.244.0.0/16, 127.0.0.1/8;") == (
        ipaddress.IPv4Network("10.244.0.0/16"),
        ipaddress.IPv4Network("127.0.0.0/8"),
    )
    assert parse_cidrs(None) == () == parse_cidrs("")
    with pytest.raises(ValueError, match="not an IPv4 network: 'fd00::/8'"):
        parse_cidrs("fd00::/8")


def test_policy_allows_only_peer_networks_and_never_itself() -> None:
    policy = PeerPolicy(self_ip="10.0.0.5", networks=parse_cidrs("10.0.0.0/24"))
    assert policy.may_contact("10.0.0.6")
    assert not policy.may_contact("10.0.0.5")
    assert not policy.may_contact("10.0.1.6")
    assert not policy.may_contact("169.254.169.254")
    assert not PeerPolicy(self_ip="10.0.0.5").may_contact("10.0.0.6"), "no networks: no peer at all"


async def test_directory_filters_static_and_dns_peers() -> None:
    policy = PeerPolicy(self_ip="127.0.0.2", networks=parse_cidrs("127.0.0.0/8"))
    directory = PeerDirectory(policy=policy, static=("127.0.0.3", "127.0.0.2", "10.1.1.1"), dns_name="localhost")
    assert directory.configured
    assert await directory.peers() == ("127.0.0.1", "127.0.0.3")
    missing = PeerDirectory(policy=policy, dns_name="no-such-name.invalid")
    assert await missing.peers() == ()
    assert not PeerDirectory(policy=policy).configured
