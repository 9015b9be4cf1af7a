"""The node API client: real HTTP to a stand-in node on loopback, and the transport choice."""

from __future__ import annotations

import random
from http.server import ThreadingHTTPServer

import pytest
from kubernetes import client

from jqm_operator.nodeapi import DirectNodeApi, ProxyNodeApi, node_api
from jqm_operator.ports import NodeUnreachable


@pytest.mark.integration
def test_direct_status_and_drain(stand_in_node: ThreadingHTTPServer) -> None:
    ip = stand_in_node.state["ip"]
    nodes = DirectNodeApi()
    assert nodes.status(namespace="ns", pod="p", ip=ip)["idsUsed"] == 25
    nodes.drain(namespace="ns", pod="p", ip=ip)
    assert stand_in_node.drains == 1
    assert nodes.status(namespace="ns", pod="p", ip=ip)["draining"] is True


@pytest.mark.integration
def test_direct_unreachable_node_is_reported() -> None:
    silent = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(2, 254)}"  # nothing listens
    with pytest.raises(NodeUnreachable):
        DirectNodeApi(timeout=2).status(namespace="ns", pod="p", ip=silent)


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
