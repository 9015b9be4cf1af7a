"""The node API client: real HTTP to a stand-in node's management port on loopback, tokens, transports."""

from __future__ import annotations

import random
from http.server import ThreadingHTTPServer

import pytest
from kubernetes import client

from jqm_operator.nodeapi import DirectNodeApi, ManagementTokens, NodeRefused, ProxyNodeApi, node_api
from jqm_operator.ports import NodeRef, NodeUnreachable


def ref(ip: str) -> NodeRef:
    return NodeRef(namespace="ns", cluster="demo", pod="p", ip=ip)


class Tokens:
    """Token reads, as the Secret would answer them, counted."""

    def __init__(self, *values: str) -> None:
        self.values = list(values)
        self.reads = 0

    def read(self, namespace: str, cluster: str) -> str | None:
        self.reads += 1
        return self.values.pop(0) if self.values else None


@pytest.mark.integration
def test_direct_status_drain_and_undrain_on_the_management_port(stand_in_node: ThreadingHTTPServer) -> None:
    ip = stand_in_node.state["ip"]
    tokens = Tokens("test-token")
    nodes = DirectNodeApi(tokens=ManagementTokens(read=tokens.read))
    assert nodes.status(ref(ip))["idsUsed"] == 25
    nodes.drain(ref(ip), reason="jqm-operator: ID limit")
    assert stand_in_node.posts[-1] == {
        "path": "/node/drain",
        "authorization": "Bearer test-token",
        "body": {"reason": "jqm-operator: ID limit"},
    }
    assert nodes.status(ref(ip))["draining"] is True
    nodes.undrain(ref(ip))
    assert stand_in_node.posts[-1]["path"] == "/node/undrain"
    assert nodes.status(ref(ip))["draining"] is False
    assert tokens.reads == 1  # cached


@pytest.mark.integration
def test_a_refused_token_is_read_again_once(stand_in_node: ThreadingHTTPServer) -> None:
    ip = stand_in_node.state["ip"]
    tokens = Tokens("stale", "test-token")  # the Secret was recreated since the token was cached
    nodes = DirectNodeApi(tokens=ManagementTokens(read=tokens.read))
    nodes.drain(ref(ip), reason="r")
    assert stand_in_node.drains == 1 and tokens.reads == 2
    wrong = DirectNodeApi(tokens=ManagementTokens(read=Tokens("bad", "worse").read))
    with pytest.raises(NodeRefused) as refused:
        wrong.drain(ref(ip), reason="r")
    assert refused.value.status == 401 and "management token missing or wrong" in str(refused.value)
    assert "bad" not in str(refused.value) and "worse" not in str(refused.value)  # never the token


@pytest.mark.integration
def test_direct_unreachable_node_is_reported() -> None:
    silent = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(2, 254)}"  # nothing listens
    with pytest.raises(NodeUnreachable):
        DirectNodeApi(tokens=ManagementTokens(read=Tokens().read), timeout=2).status(ref(silent))


def test_a_cluster_without_a_token_cannot_be_drained() -> None:
    tokens = ManagementTokens(read=Tokens().read)
    with pytest.raises(NodeUnreachable, match="no management-token in Secret ns/demo-auth"):
        tokens.get(namespace="ns", cluster="demo")


def test_transport_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    api = client.ApiClient()
    assert isinstance(node_api(mode="direct", api_client=api), DirectNodeApi)
    assert isinstance(node_api(mode="proxy", api_client=api), ProxyNodeApi)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert isinstance(node_api(mode="auto", api_client=api), ProxyNodeApi)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert isinstance(node_api(mode="auto", api_client=api), DirectNodeApi)
    with pytest.raises(ValueError, match="node access"):
        node_api(mode="carrier-pigeon", api_client=api)
