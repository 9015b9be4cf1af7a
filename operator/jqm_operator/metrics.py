"""The operator's own Prometheus metrics: what it did (counters) and what it saw at each cluster's last
node check (gauges), rendered in Prometheus' text format by :meth:`OperatorMetrics.exposition`.

Counters only grow while the process lives, labelled by the JqmCluster (``namespace``, ``cluster``).
The gauges of a cluster are replaced at each of its node checks and dropped once no check refreshed
them for ``stale_after`` seconds (the cluster was deleted, or another operator replica acts now), so
nothing reports a cluster this replica no longer watches. Per-address ledger figures are exported for
the addresses of the cluster's current node pods only: the ledger keeps every address that ever held
IDs, and a series per past pod address would grow without bound.

No client library: a handful of families, written out in a few lines, and no dependency for it.
Handlers run in kopf's worker threads, so every change takes a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from jqm_operator.decisions.ledger import IDS_PER_ADDRESS, LedgerSummary
from jqm_operator.notes import Note

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # counter or gauge
    help: str


COUNTERS = {
    f.name: f
    for f in (
        Family("jqm_operator_reconciles_total", "counter",
               "Reconciles of a JqmCluster (trigger: create, update, resume, resync)."),
        Family("jqm_operator_reconcile_errors_total", "counter", "Reconciles that failed and will be retried."),
        Family("jqm_operator_node_checks_total", "counter",
               "Node checks of a JqmCluster (the per-cluster node timer)."),
        Family("jqm_operator_node_check_errors_total", "counter", "Node checks that failed and will be retried."),
        Family("jqm_operator_drains_total", "counter",
               "Nodes the operator drained because they neared their ID limit."),
        Family("jqm_operator_unexpected_drains_total", "counter",
               "Nodes found draining that the operator did not drain."),
        Family("jqm_operator_restarts_total", "counter",
               "Node pods replaced (reason: id-limit, evicted after its drain; unexpected-drain, not undrained)."),
        Family("jqm_operator_handovers_reported_total", "counter",
               "Handovers of history between nodes reported as Events (outcome: complete, jobs-not-run)."),
        Family("jqm_operator_events_total", "counter", "Events posted on JqmClusters, by type and reason."),
        Family("jqm_operator_ledger_read_errors_total", "counter", "ID ledger ConfigMaps that could not be read."),
    )
}  # fmt: skip
GAUGES = {
    f.name: f
    for f in (
        Family("jqm_operator_cluster_nodes", "gauge", "Node pods of the JqmCluster at its last node check."),
        Family("jqm_operator_cluster_nodes_reachable", "gauge", "Node pods whose management port answered."),
        Family("jqm_operator_ledger_addresses", "gauge",
               "Addresses in the ID ledger (every one that ever reserved IDs)."),
        Family("jqm_operator_ledger_reserved_ids", "gauge", "IDs reserved in the ledger, over all its addresses."),
        Family("jqm_operator_ledger_exhausted_addresses", "gauge",
               f"Addresses that reserved all of their {IDS_PER_ADDRESS} IDs (no node there takes a job)."),
        Family("jqm_operator_ledger_custody_ranges", "gauge",
               "ID ranges of handed-over history recorded in the ledger."),
        Family("jqm_operator_ledger_unreadable_entries", "gauge", "Ledger entries the operator could not read."),
        Family("jqm_operator_ledger_high_water_mark", "gauge",
               f"IDs ever reserved on the address of a current node pod (of {IDS_PER_ADDRESS})."),
    )
}  # fmt: skip

NOTE_COUNTERS: dict[str, tuple[str, Labels]] = {
    "UnexpectedDrain": ("jqm_operator_unexpected_drains_total", ()),
    "NodeRestarted": ("jqm_operator_restarts_total", (("reason", "id-limit"),)),
    "DrainedNodeReplaced": ("jqm_operator_restarts_total", (("reason", "unexpected-drain"),)),
    "HistoryHandedOver": ("jqm_operator_handovers_reported_total", (("outcome", "complete"),)),
    "JobsNotRun": ("jqm_operator_handovers_reported_total", (("outcome", "jobs-not-run"),)),
}
"""Events of a node check that a counter of their own counts."""


@dataclass(frozen=True, kw_only=True)
class NodeCheck:
    """What one node check of a cluster did and saw."""

    started_drain: bool
    notes: Sequence[Note]
    nodes: int
    reachable: int
    node_ips: Sequence[str]
    ledger: LedgerSummary | None
    """None when the ledger could not be read."""


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample(name: str, labels: Labels, value: float) -> str:
    inner = ",".join(f'{key}="{_label(text)}"' for key, text in labels)
    number = int(value) if float(value).is_integer() else value
    return f"{name}{{{inner}}} {number}" if inner else f"{name} {number}"


class OperatorMetrics:
    def __init__(self, *, stale_after: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {name: {} for name in COUNTERS}
        self._clusters: dict[tuple[str, str], tuple[float, list[tuple[str, Labels, float]]]] = {}

    def add(self, name: str, labels: Labels, amount: float = 1) -> None:
        if name not in COUNTERS:
            raise KeyError(f"no counter {name}")
        with self._lock:
            series = self._counters[name]
            series[labels] = series.get(labels, 0) + amount

    @contextmanager
    def reconcile(self, *, namespace: str, cluster: str, trigger: str) -> Iterator[None]:
        """Counts one reconcile, and an error when it raises (kopf retries it)."""
        labels = (("namespace", namespace), ("cluster", cluster), ("trigger", trigger))
        self.add("jqm_operator_reconciles_total", labels)
        try:
            yield
        except BaseException:
            self.add("jqm_operator_reconcile_errors_total", labels)
            raise

    @contextmanager
    def node_check(self, *, namespace: str, cluster: str) -> Iterator[None]:
        """Counts one node check, and an error when it raises."""
        labels = (("namespace", namespace), ("cluster", cluster))
        self.add("jqm_operator_node_checks_total", labels)
        try:
            yield
        except BaseException:
            self.add("jqm_operator_node_check_errors_total", labels)
            raise

    def event(self, *, namespace: str, cluster: str, note: Note) -> None:
        labels = (("namespace", namespace), ("cluster", cluster), ("type", note.type), ("reason", note.reason))
        self.add("jqm_operator_events_total", labels)

    def record_check(self, *, namespace: str, cluster: str, check: NodeCheck) -> None:
        """Counts what a node check did and replaces the cluster's gauges with what it saw."""
        owner: Labels = (("namespace", namespace), ("cluster", cluster))
        if check.started_drain:
            self.add("jqm_operator_drains_total", owner)
        for note in check.notes:
            counted = NOTE_COUNTERS.get(note.reason)
            if counted is not None:
                self.add(counted[0], owner + counted[1])
        gauges: list[tuple[str, Labels, float]] = [
            ("jqm_operator_cluster_nodes", owner, check.nodes),
            ("jqm_operator_cluster_nodes_reachable", owner, check.reachable),
        ]
        ledger = check.ledger
        if ledger is None:
            self.add("jqm_operator_ledger_read_errors_total", owner)
        else:
            gauges += [
                ("jqm_operator_ledger_addresses", owner, len(ledger.reserved)),
                ("jqm_operator_ledger_reserved_ids", owner, sum(ledger.reserved.values())),
                ("jqm_operator_ledger_exhausted_addresses", owner, ledger.exhausted),
                ("jqm_operator_ledger_custody_ranges", owner, ledger.custody_ranges),
                ("jqm_operator_ledger_unreadable_entries", owner, ledger.unreadable),
            ]
            gauges += [
                ("jqm_operator_ledger_high_water_mark", (*owner, ("ip", ip)), ledger.reserved[ip])
                for ip in sorted(set(check.node_ips))
                if ip in ledger.reserved
            ]
        with self._lock:
            self._clusters[(namespace, cluster)] = (self._clock(), gauges)

    def exposition(self) -> str:
        """Every family in Prometheus' text format (version 0.0.4)."""
        now = self._clock()
        with self._lock:
            for key in [k for k, (at, _) in self._clusters.items() if now - at > self.stale_after]:
                del self._clusters[key]
            counters = {name: sorted(series.items()) for name, series in self._counters.items()}
            gauges = [sample for key in sorted(self._clusters) for sample in self._clusters[key][1]]
        lines: list[str] = []
        for name, family in COUNTERS.items():
            lines += [f"# HELP {name} {family.help}", f"# TYPE {name} {family.kind}"]
            lines += [_sample(name, labels, value) for labels, value in counters[name]]
        for name, family in GAUGES.items():
            lines += [f"# HELP {name} {family.help}", f"# TYPE {name} {family.kind}"]
            lines += [_sample(name, labels, value) for metric, labels, value in gauges if metric == name]
        return "\n".join(lines) + "\n"
