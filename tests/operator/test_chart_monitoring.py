"""The chart's monitoring parts: off by default; when on, a ServiceMonitor for the operator's /metrics
(through a Service of its metrics port), a PodMonitor for the node pods' management port, the Grafana
dashboard as a ConfigMap, and the scrapers admitted to the nodes' management port."""

from __future__ import annotations

import json
from typing import Any

from tests.operator.test_chart import CHART, documents, needs_helm, render


def by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        found.setdefault(doc["kind"], []).append(doc)
    return found


def operator_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


@needs_helm
def test_off_by_default_but_the_metrics_port() -> None:
    docs = documents(render("default"))
    kinds = by_kind(docs)
    assert "ServiceMonitor" not in kinds and "PodMonitor" not in kinds
    assert not any(d["metadata"]["name"].endswith(("-metrics", "-dashboard")) for d in docs)
    container = operator_container(docs)
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["JQM_OPERATOR_METRICS_LISTEN"] == "0.0.0.0:9180" and env["JQM_OPERATOR_MANAGEMENT_FROM"] == "[]"
    assert {"name": "metrics", "containerPort": 9180, "protocol": "TCP"} in container["ports"]


@needs_helm
def test_service_monitor_pod_monitor_and_dashboard() -> None:
    docs = documents(render("monitoring"))
    kinds = by_kind(docs)
    (monitor,) = kinds["ServiceMonitor"]
    service = next(d for d in kinds["Service"] if d["metadata"]["name"] == "jqm-jqm-operator-metrics")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    pod_labels = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["honorLabels"] is True  # keeps the clusters' namespace label

    (pods,) = kinds["PodMonitor"]
    assert pods["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}  # the watched namespaces only
    assert pods["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "jqm-node", "app.kubernetes.io/managed-by": "jqm-operator",
    }  # fmt: skip
    (scrape,) = pods["spec"]["podMetricsEndpoints"]
    assert (scrape["port"], scrape["path"]) == ("management", "/metrics")
    assert scrape["relabelings"][0]["targetLabel"] == "jqm_cluster"

    dashboard = next(d for d in kinds["ConfigMap"] if d["metadata"]["name"] == "jqm-jqm-operator-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["jqm.json"]) == json.loads((CHART / "dashboards" / "jqm.json").read_text())

    env = {e["name"]: e["value"] for e in operator_container(docs)["env"]}
    assert json.loads(env["JQM_OPERATOR_MANAGEMENT_FROM"]) == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
