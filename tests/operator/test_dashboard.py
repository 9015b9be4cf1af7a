"""The chart's Grafana dashboard asks only for series the code exports: every metric name its PromQL
queries (panels and variables) use is in a real node's /metrics (a node process on loopback that ran
jobs) or in the operator's /metrics (its metrics module, rendered with fake data), with the labels the
queries group by."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jqm_operator.decisions.ledger import summarize
from jqm_operator.metrics import NodeCheck, OperatorMetrics
from jqm_operator.notes import Note
from tests.node.conftest import launch_node, shell_job, stop_node
from tests.operator.test_chart import CHART

DASHBOARD = CHART / "dashboards" / "jqm.json"
FUNCTIONS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "label_values",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "topk", "bottomk", "clamp_min", "clamp_max", "abs", "delta", "deriv", "time", "vector", "scalar",
}  # fmt: skip
TARGET_LABELS = {"namespace", "pod", "jqm_cluster", "instance", "job", "le"}
"""Labels the scrape adds (PodMonitor relabeling, Prometheus' target labels) or histograms carry."""


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    found += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    assert found
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names of a PromQL expression: identifiers that are neither functions, keywords, label
    names (inside {...}, by/without (...), after a comma of label_values) nor durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # range durations
    text = re.sub(r"label_values\(([^,()]+),[^)]*\)", r"label_values(\1)", text)  # its label argument
    text = re.sub(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", "", text)  # numbers (0.95, 1e6)
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text)) - FUNCTIONS


def grouping_labels(expr: str) -> set[str]:
    labels: set[str] = set()
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    for matchers in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers))
    return labels


def exported(text: str) -> dict[str, set[str]]:
    """Sample names of a Prometheus exposition, with the label names they carry."""
    series: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
            assert match, line
            series.setdefault(match.group(1), set()).update(re.findall(r'([a-zA-Z_]+)="', match.group(2) or ""))
    return series


@pytest.fixture(scope="module")
def node_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """A real node that ran an ended, a crashed and a waiting job."""
    config = {
        "queues": [{"name": "DEFAULT", "maxThreads": 2}, {"name": "held", "maxThreads": 1, "enabled": False}],
        "jobDefinitions": [
            shell_job("Ok", "true"), shell_job("Fail", "exit 2"), shell_job("Later", "true", queue="held"),
        ],
    }  # fmt: skip
    node = launch_node(tmp_path_factory.mktemp("dashboard") / "node", config=config)
    try:
        for application in ("Ok", "Fail"):
            node.wait_state(node.enqueue(application), "ENDED", "CRASHED")
        node.enqueue("Later")
        yield exported(node.manage("GET", "/metrics")[2].decode())
    finally:
        stop_node(node)


def operator_metrics() -> dict[str, set[str]]:
    metrics = OperatorMetrics()
    with metrics.reconcile(namespace="ns", cluster="demo", trigger="resync"):
        pass
    with pytest.raises(RuntimeError), metrics.reconcile(namespace="ns", cluster="demo", trigger="update"):
        raise RuntimeError
    with pytest.raises(RuntimeError), metrics.node_check(namespace="ns", cluster="demo"):
        raise RuntimeError
    notes = [Note(type="Warning", reason=r, message="") for r in (
        "UnexpectedDrain", "NodeRestarted", "DrainedNodeReplaced", "HistoryHandedOver", "JobsNotRun")]  # fmt: skip
    ledger = summarize({"10.1.0.1": json.dumps({"next": 128}), "10.1.0.2": json.dumps({"next": 1_000_000})})
    check = NodeCheck(started_drain=True, notes=notes, nodes=2, reachable=2, node_ips=["10.1.0.1"], ledger=ledger)
    metrics.record_check(namespace="ns", cluster="demo", check=check)
    for note in notes:
        metrics.event(namespace="ns", cluster="demo", note=note)
    return exported(metrics.exposition())


@pytest.mark.integration
def test_every_metric_of_the_dashboard_is_exported(node_metrics: dict[str, set[str]]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    operator = operator_metrics()
    missing, unlabelled = [], []
    for expr in queries(dashboard):
        for name in metric_names(expr):
            series = node_metrics.get(name, operator.get(name))
            if series is None:
                missing.append(f"{name} (in {expr})")
                continue
            absent = grouping_labels(expr) - series - TARGET_LABELS
            if name.startswith("jqm_operator_"):
                absent -= {"cluster"} if "cluster" in series else set()
            if absent:
                unlabelled.append(f"{name} has no label {sorted(absent)} (in {expr})")
    assert missing == [] and unlabelled == []


def test_the_parser_finds_metric_names_and_labels() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, queue) (rate(jqm_job_duration_seconds_bucket{a=~"x|y"}[5m]))) / 1e6'
    assert metric_names(expr) == {"jqm_job_duration_seconds_bucket"}
    assert grouping_labels(expr) == {"le", "queue", "a"}
    assert metric_names('label_values(jqm_node_info{namespace=~"$namespace"}, jqm_cluster)') == {"jqm_node_info"}
    assert metric_names('jqm_ids_used{x="1"} / jqm_ids_capacity') == {"jqm_ids_used", "jqm_ids_capacity"}


def test_dashboard_is_valid_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "namespace", "cluster"}
    assert Path(DASHBOARD).stat().st_size < 100_000
