"""How the nodes are reached: the client Service, the peers' headless Service, the Ingress and the
optional NetworkPolicy. Only the client port (1789) is ever exposed; the management port (1790) is not
in any Service."""

from __future__ import annotations

from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders.meta import OperatorIdentity, Owner, child_names, common, selector_labels
from jqm_operator.builders.render import render
from jqm_operator.model import ClusterSpec

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace; selects a namespace by name in a NetworkPolicy."""


def build_service(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any]:
    """The load-balanced Service: only ready (so not draining) nodes receive client traffic."""
    return render(
        "service.yaml.j2",
        name=child_names(owner.name)["service"],
        service_type=spec.service.type,
        port=spec.service.port,
        annotations=dict(spec.service.annotations),
        selector=selector_labels(owner.name),
        port_name=c.NODE_PORT_NAME,
        **common(owner, "api"),
    )


def build_peer_service(*, owner: Owner) -> dict[str, Any]:
    """The headless Service behind ``JQM_PEERS_DNS``: the cluster's membership, unready nodes included."""
    return render(
        "service-peers.yaml.j2",
        name=child_names(owner.name)["peers"],
        selector=selector_labels(owner.name),
        port=c.NODE_PORT,
        port_name=c.NODE_PORT_NAME,
        **common(owner, "peers"),
    )


def build_ingress(*, owner: Owner, spec: ClusterSpec) -> dict[str, Any] | None:
    """The Ingress, or None when disabled (the caller then deletes any left from before)."""
    if not spec.ingress.enabled:
        return None
    return render(
        "ingress.yaml.j2",
        name=child_names(owner.name)["ingress"],
        class_name=spec.ingress.class_name,
        host=spec.ingress.host,
        path=spec.ingress.path,
        path_type=spec.ingress.path_type,
        tls_secret_name=spec.ingress.tls_secret_name,
        annotations=dict(spec.ingress.annotations),
        service=child_names(owner.name)["service"],
        service_port=spec.service.port,
        **common(owner, "api"),
    )


def _port(number: int) -> list[dict[str, Any]]:
    return [{"port": number, "protocol": "TCP"}]


def build_network_policy(
    *, owner: Owner, spec: ClusterSpec, operator: OperatorIdentity | None
) -> dict[str, Any] | None:
    """The NetworkPolicy of the node pods, or None when disabled.

    Client port: from ``clientFrom`` (anyone when empty: clients and ingress controllers come through
    the Service) and always from the cluster's own nodes (forwarding, fan-out, handover). Management
    port: from the operator's pods, ``managementFrom`` and the peers the operator's installation admits
    (its chart's ``networkPolicy.managementFrom``: a metrics scraper); nobody else. Probes come from the kubelet,
    which NetworkPolicy implementations let through.
    """
    policy = spec.network_policy
    if not policy.enabled:
        return None
    same_cluster = {"podSelector": {"matchLabels": selector_labels(owner.name)}}
    client: dict[str, Any] = {"ports": _port(c.NODE_PORT)}
    if policy.client_from:
        client["from"] = [dict(peer) for peer in policy.client_from] + [same_cluster]
    management_from = [dict(peer) for peer in policy.management_from]
    if operator is not None:
        operator_pods = {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: operator.namespace}},
            "podSelector": {"matchLabels": dict(operator.pod_labels)},
        }
        management_from.insert(0, operator_pods)
        management_from += [dict(peer) for peer in operator.management_from]
    rules = [client]
    if management_from:
        rules.append({"from": management_from, "ports": _port(c.MANAGEMENT_PORT)})
    return render(
        "networkpolicy.yaml.j2",
        name=child_names(owner.name)["networkpolicy"],
        selector=selector_labels(owner.name),
        ingress=rules,
        **common(owner, "node"),
    )
