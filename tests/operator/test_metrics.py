"""The operator's own metrics: counters of what it did, gauges of what a node check saw (the ID ledger
included), the Prometheus text it serves, and the settings that place it."""

from __future__ import annotations

import asyncio
import json
import socket
import types
import urllib.request
from typing import Any

import pytest

from jqm_operator.builders import OperatorIdentity, Owner, build_network_policy
from jqm_operator.config import OperatorConfig
from jqm_operator.decisions.ledger import summarize
from jqm_operator.handlers import lifecycle
from jqm_operator.metrics import COUNTERS, GAUGES, NodeCheck, OperatorMetrics
from jqm_operator.metricsserver import serve_metrics
from jqm_operator.model import parse_spec
from jqm_operator.notes import Note
from tests.operator.test_timer import cluster, tick
from tests.prometheus import samples


def ledger_data(**entries: Any) -> dict[str, str]:
    return {ip: json.dumps(entry) if not isinstance(entry, str) else entry for ip, entry in entries.items()}


def test_ledger_summary_reads_what_the_nodes_write_and_counts_the_rest() -> None:
    data = ledger_data(**{
        "10.1.0.1": {"next": 12800, "custody": [[0, 6400, "10.1.0.2"]]},
        "10.1.0.2": {"next": 1_000_000, "custody": []},
        "10.1.0.3": {"next": 256, "extra": "kept by newer nodes"},
        "10.1.0.4": "{not json",
        "10.1.0.5": {"next": "12"},
        "10.1.0.6": "[1]",
        "not-an-ip": {"next": 1},
    })  # fmt: skip
    summary = summarize(data)
    assert summary.reserved == {"10.1.0.1": 12800, "10.1.0.2": 1_000_000, "10.1.0.3": 256}
    assert (summary.custody_ranges, summary.unreadable, summary.exhausted) == (1, 4, 1)
    assert summarize(None).reserved == {} and summarize({}).exhausted == 0


def test_counters_of_reconciles_and_checks_and_their_errors() -> None:
    metrics = OperatorMetrics()
    with metrics.reconcile(namespace="ns", cluster="demo", trigger="resync"):
        pass
    with pytest.raises(RuntimeError), metrics.reconcile(namespace="ns", cluster="demo", trigger="update"):
        raise RuntimeError("apply failed")
    with pytest.raises(RuntimeError), metrics.node_check(namespace="ns", cluster="demo"):
        raise RuntimeError("API server down")
    metrics.event(namespace="ns", cluster="demo", note=Note(type="Warning", reason="ApplyFailed", message="x"))
    found = samples(metrics.exposition())
    assert found['jqm_operator_reconciles_total{namespace="ns",cluster="demo",trigger="resync"}'] == 1
    assert found['jqm_operator_reconcile_errors_total{namespace="ns",cluster="demo",trigger="update"}'] == 1
    assert 'jqm_operator_reconcile_errors_total{namespace="ns",cluster="demo",trigger="resync"}' not in found
    assert found['jqm_operator_node_check_errors_total{namespace="ns",cluster="demo"}'] == 1
    assert found['jqm_operator_events_total{namespace="ns",cluster="demo",type="Warning",reason="ApplyFailed"}'] == 1


def test_a_node_check_counts_drains_restarts_handovers_and_exports_the_ledger() -> None:
    now = [0.0]
    metrics = OperatorMetrics(stale_after=60, clock=lambda: now[0])
    notes = [Note(type=t, reason=r, message="") for t, r in (
        ("Warning", "UnexpectedDrain"), ("Normal", "NodeRestarted"), ("Warning", "DrainedNodeReplaced"),
        ("Normal", "HistoryHandedOver"), ("Warning", "JobsNotRun"), ("Normal", "DrainRecovered"),
    )]  # fmt: skip
    ledger = summarize(ledger_data(**{"10.1.0.1": {"next": 300}, "10.1.0.9": {"next": 1_000_000}}))
    check = NodeCheck(started_drain=True, notes=notes, nodes=2, reachable=1, node_ips=["10.1.0.1", "10.1.0.2"],
                      ledger=ledger)  # fmt: skip
    metrics.record_check(namespace="ns", cluster="demo", check=check)
    found = samples(metrics.exposition())
    owner = 'namespace="ns",cluster="demo"'
    assert found[f"jqm_operator_drains_total{{{owner}}}"] == 1
    assert found[f"jqm_operator_unexpected_drains_total{{{owner}}}"] == 1
    assert found[f'jqm_operator_restarts_total{{{owner},reason="id-limit"}}'] == 1
    assert found[f'jqm_operator_restarts_total{{{owner},reason="unexpected-drain"}}'] == 1
    assert found[f'jqm_operator_handovers_reported_total{{{owner},outcome="jobs-not-run"}}'] == 1
    assert found[f"jqm_operator_cluster_nodes_reachable{{{owner}}}"] == 1
    assert found[f"jqm_operator_ledger_reserved_ids{{{owner}}}"] == 1_000_300
    assert found[f"jqm_operator_ledger_exhausted_addresses{{{owner}}}"] == 1
    # per address: only the addresses of the cluster's pods now (10.1.0.9 left; 10.1.0.2 has no entry yet)
    assert [k for k in found if k.startswith("jqm_operator_ledger_high_water_mark")] == [
        f'jqm_operator_ledger_high_water_mark{{{owner},ip="10.1.0.1"}}'
    ]
    metrics.record_check(namespace="ns", cluster="demo", check=NodeCheck(
        started_drain=False, notes=(), nodes=2, reachable=2, node_ips=(), ledger=None))  # fmt: skip
    found = samples(metrics.exposition())
    assert found[f"jqm_operator_ledger_read_errors_total{{{owner}}}"] == 1
    assert f"jqm_operator_ledger_addresses{{{owner}}}" not in found  # unknown, not stale figures
    assert found[f"jqm_operator_drains_total{{{owner}}}"] == 1  # counters never go back
    now[0] = 61.0  # no check refreshed the cluster: its gauges go, its counters stay
    found = samples(metrics.exposition())
    assert not [k for k in found if k.startswith("jqm_operator_cluster_nodes")]
    assert found[f"jqm_operator_drains_total{{{owner}}}"] == 1


def test_every_family_is_described_even_before_its_first_sample() -> None:
    text = OperatorMetrics().exposition()
    for name in [*COUNTERS, *GAUGES]:
        assert f"# HELP {name} " in text and f"# TYPE {name} " in text
    assert samples(text) == {}


def test_the_timer_reads_the_ledger_for_the_metrics() -> None:
    api, nodes = cluster(3, 4)
    api.objects[("ConfigMap", "ns", "demo-id-ledger")] = {"data": ledger_data(**{"10.1.0.1": {"next": 128}})}
    check = tick(api, nodes).check
    assert check.ledger is not None and check.ledger.reserved == {"10.1.0.1": 128}
    assert (check.nodes, check.reachable, list(check.node_ips)) == (2, 2, ["10.1.0.1", "10.1.0.2"])
    del api.objects[("ConfigMap", "ns", "demo-id-ledger")]
    assert tick(api, nodes).check.ledger is None


def test_settings_of_the_metrics_listener_and_the_scrapers() -> None:
    assert OperatorConfig.from_env({}).metrics_address == ("0.0.0.0", 9180)
    assert OperatorConfig.from_env({"JQM_OPERATOR_METRICS_LISTEN": ""}).metrics_address is None
    with pytest.raises(ValueError, match="not host:port"):
        _ = OperatorConfig.from_env({"JQM_OPERATOR_METRICS_LISTEN": "9180"}).metrics_address
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    config = OperatorConfig.from_env({"JQM_OPERATOR_MANAGEMENT_FROM": json.dumps([scraper])})
    assert config.management_from == (scraper,)
    for bad in ("{", '{"podSelector": {}}', '[{"ports": []}]', "[{}]"):
        with pytest.raises(ValueError, match="JQM_OPERATOR_MANAGEMENT_FROM"):
            OperatorConfig.from_env({"JQM_OPERATOR_MANAGEMENT_FROM": bad})


def test_the_chart_scrapers_reach_the_management_port_of_every_cluster() -> None:
    scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    operator = OperatorIdentity(namespace="jqm-system", pod_labels={"a": "b"}, management_from=(scraper,))
    spec = parse_spec({"networkPolicy": {"enabled": True}})
    policy = build_network_policy(owner=Owner(name="demo", namespace="ns", uid="u"), spec=spec, operator=operator)
    assert policy is not None
    management = next(rule for rule in policy["spec"]["ingress"] if rule["ports"][0]["port"] == 1790)
    assert management["from"][1:] == [scraper]
    assert management["from"][0]["podSelector"] == {"matchLabels": {"a": "b"}}


async def test_metrics_are_served_on_their_own_port() -> None:
    metrics = OperatorMetrics()
    metrics.add("jqm_operator_drains_total", (("namespace", "ns"), ("cluster", "demo")))
    runner = await serve_metrics(metrics, host="127.0.0.1", port=0)
    try:
        port = runner.addresses[0][1]

        def get() -> tuple[str, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                return answer.headers["Content-Type"], answer.read().decode()

        content_type, text = await asyncio.to_thread(get)
    finally:
        await runner.cleanup()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert samples(text)['jqm_operator_drains_total{namespace="ns",cluster="demo"}'] == 1


async def test_a_taken_metrics_port_is_an_error_in_the_log_not_a_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(
            lifecycle, "CONFIG", OperatorConfig.from_env({"JQM_OPERATOR_METRICS_LISTEN": f"127.0.0.1:{port}"})
        )
        errors: list[str] = []
        logger = types.SimpleNamespace(error=errors.append, info=lambda text: None)
        memo = types.SimpleNamespace()
        await lifecycle.operator_metrics_start(memo=memo, logger=logger)  # type: ignore[arg-type]
    assert not hasattr(memo, "metrics_runner")
    assert len(errors) == 1 and f"cannot listen on 127.0.0.1:{port}" in errors[0]
