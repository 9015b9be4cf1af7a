"""Counters of finished jobs for ``/metrics``: how many ended in each state, and how long they ran.

The engine calls :meth:`JobStats.record` once per job that reaches a final state (ENDED, CRASHED
- a killed job too -, CANCELLED). Recording is a few additions (no per-job memory), so a scrape costs the same
whether the node ran ten jobs or a million. Jobs that never ran (cancelled while waiting) count in
``jqm_jobs_finished_total`` but have no duration. The counters start at zero with the process, as
Prometheus counters do; the journal's recovered jobs are not counted again.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from jqm_node.model import JobInstance, State

DURATION_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)
"""Upper bounds (seconds) of the run-time histogram: from quick shell calls to batch jobs of hours."""


@dataclass(slots=True)
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    """Observations per bucket (not cumulative; the exposition sums them)."""
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        index = bisect_left(DURATION_BUCKETS, seconds)
        if index < len(DURATION_BUCKETS):
            self.buckets[index] += 1
        self.total += seconds
        self.count += 1


class JobStats:
    """Finished jobs by queue and final state, and the run time of those that ran."""

    def __init__(self) -> None:
        self._finished: dict[tuple[str, State], int] = {}
        self._durations: dict[tuple[str, State], _Histogram] = {}

    def record(self, job: JobInstance) -> None:
        """Counts one job that has just reached its final state."""
        key = (job.queue.name, job.state)
        self._finished[key] = self._finished.get(key, 0) + 1
        if job.began_date is not None and job.end_date is not None:
            histogram = self._durations.get(key)
            if histogram is None:
                histogram = self._durations[key] = _Histogram()
            histogram.observe(max(0.0, job.end_date - job.began_date))

    def exposition(self) -> list[str]:
        """The Prometheus text lines of both series (without the final newline)."""
        lines = [
            "# HELP jqm_jobs_finished_total Job instances that reached a final state, by queue and state.",
            "# TYPE jqm_jobs_finished_total counter",
        ]
        for (queue, state), count in sorted(self._finished.items()):
            lines.append(f'jqm_jobs_finished_total{{queue="{label(queue)}",state="{state.value}"}} {count}')
        lines += [
            "# HELP jqm_job_duration_seconds Run time of the jobs that ran (start to end), by queue and final state.",
            "# TYPE jqm_job_duration_seconds histogram",
        ]
        for (queue, state), histogram in sorted(self._durations.items()):
            labels = f'queue="{label(queue)}",state="{state.value}"'
            cumulative = 0
            for bound, observed in zip(DURATION_BUCKETS, histogram.buckets, strict=True):
                cumulative += observed
                lines.append(f'jqm_job_duration_seconds_bucket{{{labels},le="{bound:g}"}} {cumulative}')
            lines += [
                f'jqm_job_duration_seconds_bucket{{{labels},le="+Inf"}} {histogram.count}',
                f"jqm_job_duration_seconds_sum{{{labels}}} {histogram.total:.6f}",
                f"jqm_job_duration_seconds_count{{{labels}}} {histogram.count}",
            ]
        return lines


def label(value: str) -> str:
    """A Prometheus label value, escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
