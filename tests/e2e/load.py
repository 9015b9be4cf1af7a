"""Steady client load through a load balancer, and the accounting that proves no job was lost.

Clients (threads) enqueue a few jobs at a time, each carrying a unique marker parameter, then follow
them to a final state, as a real client would: an answer that is not a success (a 503 while a node
drains, a connection closed by a node that goes) is counted by kind and the client goes on (it retries
a poll; it does not retry an enqueue, whose job it never got an ID for). The load is bounded in jobs
and in time.

After the scenario, :meth:`SteadyLoad.account` checks every ID a client was given, through the load
balancer: it must reach a final state the scenario allows, still name its own job (the marker matches,
its log holds the marker) or answer the documented 410 "expired", and no ID may have been given twice.
The figures of every scenario are kept in :data:`FIGURES` and printed at the end of the session.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.kube import E2E_EVERY, Auth, Http, http
from tests.waiting import wait_until

FINAL_STATES = frozenset({"ENDED", "CRASHED", "CANCELLED"})
MARKER = "marker"
MARKED_JOB = {
    "name": "Marked",
    "description": "sleeps, then prints its marker parameter (an argument, never shell code)",
    "pathType": "DEFAULTSHELLCOMMAND",
    "path": "sleep 1 && echo",
}
LOADED_SPEC: dict[str, Any] = {
    "queues": [{"name": "DEFAULT", "maxThreads": 2, "default": True}],  # few slots: nodes hold queued jobs
    "jobDefinitions": [MARKED_JOB],
}
"""The JqmCluster spec the load expects: the marked job on two slots per node."""
FOLLOW_SECONDS = 180.0  # one job, from its enqueue to a final state, whatever the scenario does meanwhile
POLL_SECONDS = 0.2
REQUEST_TIMEOUT = 15.0
SETTLE_SECONDS = 240.0  # after the scenario: until every acknowledged job reached a final state
RETRIED_STATUSES = frozenset({502, 503, 504})  # a node leaving or not yet reachable: a client tries again

FIGURES: list[dict[str, Any]] = []
"""One entry per scenario (name, jobs, lost, duplicates, client errors, duration), for the session summary."""


@dataclass(frozen=True)
class Accepted:
    job_id: int
    marker: str


@dataclass
class Accounting:
    """What :meth:`SteadyLoad.account` found, per acknowledged ID."""

    scenario: str
    jobs: int
    states: Counter[str]
    lost: list[str]
    duplicates: list[int]
    expired: int
    client_errors: Counter[str]
    duration: float

    def figures(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "jobs": self.jobs,
            "lost": len(self.lost),
            "duplicates": len(self.duplicates),
            "expired": self.expired,
            "states": dict(self.states),
            "client errors": sum(self.client_errors.values()),
            "client errors by kind": dict(self.client_errors),
            "duration s": round(self.duration),
        }


@dataclass
class SteadyLoad:
    """``workers`` clients, each enqueueing ``batch`` jobs of ``application`` and then following them."""

    url: str
    auth: Auth
    application: str = MARKED_JOB["name"]
    workers: int = 4
    batch: int = 3
    max_jobs: int = 600
    max_seconds: float = 300.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    _tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _started: float = 0.0
    _stopped: float = 0.0

    # ------------------------------------------------------------------ running

    def start(self) -> SteadyLoad:
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stops enqueueing; each client still follows the jobs it holds (bounded by FOLLOW_SECONDS)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=FOLLOW_SECONDS + 30)
        self._stopped = time.monotonic()

    def wait_for_jobs(self, count: int, *, timeout: float = 120.0) -> None:
        wait_until(
            lambda: len(self.accepted) >= count,
            what=f"{count} jobs enqueued by the load",
            timeout=timeout,
            every=E2E_EVERY,
        )

    def _client(self, worker: int) -> None:
        deadline = self._started + self.max_seconds
        sequence = 0
        while not self._stop.is_set() and time.monotonic() < deadline and len(self.accepted) < self.max_jobs:
            mine = []
            for _ in range(self.batch):
                sequence += 1
                job = self._enqueue(f"{self._tag}-{worker}-{sequence}")
                if job is not None:
                    mine.append(job)
            for job in mine:
                self._follow(job)

    def _enqueue(self, marker: str) -> Accepted | None:
        form = {"applicationname": self.application, "parameterNames": MARKER, "parameterValues": marker}
        answer = self._call("enqueue", "POST", "/ws/simple/ji", form=form)
        if answer is None or answer.status != 200:
            return None
        job = Accepted(int(answer.text), marker)
        with self._lock:
            self.accepted.append(job)
        return job

    def _follow(self, job: Accepted) -> None:
        deadline = time.monotonic() + FOLLOW_SECONDS
        while time.monotonic() < deadline:
            answer = self._call("status", "GET", f"/ws/simple/status?id={job.job_id}")
            if answer is not None and (answer.status == 410 or (answer.status == 200 and answer.text in FINAL_STATES)):
                return  # final, or gone for good (retention): nothing more to follow
            time.sleep(POLL_SECONDS)

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Http | None:
        """One request; anything but a success is counted under ``what`` and its kind."""
        try:
            answer = http(method, f"{self.url}{path}", auth=self.auth, timeout=REQUEST_TIMEOUT, **kwargs)
        except OSError as e:
            self._count(f"{what}: {type(e).__name__}", str(e))
            return None
        if answer.status != 200:
            self._count(f"{what}: HTTP {answer.status}", answer.text[:300])
        return answer

    def _count(self, kind: str, sample: str) -> None:
        with self._lock:
            self.errors[kind] += 1
            self.error_samples.setdefault(kind, sample)

    # ------------------------------------------------------------------ accounting

    def account(
        self, scenario: str, *, allowed: Callable[[dict[str, Any]], bool] = lambda job: job["state"] == "ENDED"
    ) -> Accounting:
        """Every acknowledged ID, read through the load balancer once every job has settled.

        ``allowed`` says which final job records the scenario's design promises (by default: ENDED only);
        any other is counted lost, as is an ID that answers neither its own job nor 410 "expired".
        """
        ids = Counter(job.job_id for job in self.accepted)
        duplicates = sorted(job_id for job_id, n in ids.items() if n > 1)
        lost: list[str] = []
        states: Counter[str] = Counter()
        expired = 0
        for job in self.accepted:
            record = self._settled(job)
            if isinstance(record, str):
                lost.append(f"{job.job_id} ({job.marker}): {record}")
                continue
            if record.get("expired"):
                expired += 1
                continue
            states[record["state"]] += 1
            why = self._mismatch(job, record, allowed)
            if why:
                lost.append(f"{job.job_id} ({job.marker}): {why}")
        result = Accounting(
            scenario=scenario,
            jobs=len(self.accepted),
            states=states,
            lost=lost,
            duplicates=duplicates,
            expired=expired,
            client_errors=Counter(self.errors),
            duration=(self._stopped or time.monotonic()) - self._started,
        )
        FIGURES.append(result.figures())
        print(f"\n{scenario}: {result.figures()}\nfirst answer of each client error kind: {self.error_samples}")
        return result

    def _settled(self, job: Accepted) -> dict[str, Any] | str:
        """The job's record once final (``{"expired": True}`` for a 410 "expired"), or why there is none."""
        deadline = time.monotonic() + SETTLE_SECONDS
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = http("GET", f"{self.url}/ws/client/ji/{job.job_id}", auth=self.auth,
                              headers={"Accept": "application/json"}, timeout=REQUEST_TIMEOUT)  # fmt: skip
            except OSError as e:
                last = f"{type(e).__name__}: {e}"
                time.sleep(POLL_SECONDS)
                continue
            if answer.status == 410 and "expired" in answer.text:
                return {"expired": True}
            if answer.status == 200:
                record: dict[str, Any] = answer.json()
                if record["state"] in FINAL_STATES:
                    return record
                last = f"still {record['state']}"
            elif answer.status in RETRIED_STATUSES:
                last = f"HTTP {answer.status}: {answer.text[:200]}"
            else:
                return f"HTTP {answer.status}: {answer.text[:200]}"
            time.sleep(POLL_SECONDS)
        return f"not settled after {SETTLE_SECONDS:.0f}s ({last})"

    def _mismatch(self, job: Accepted, record: dict[str, Any], allowed: Callable[[dict[str, Any]], bool]) -> str:
        markers = [p["value"] for p in record.get("parameters") or [] if p["key"] == MARKER]
        if markers != [job.marker]:
            return f"names another job (marker {markers}, state {record['state']})"
        if not allowed(record):
            return f"ended {record['state']}: {record.get('messages')}"
        if record["state"] == "ENDED":
            stdout = http("GET", f"{self.url}/ws/simple/stdout?id={job.job_id}", auth=self.auth,
                          timeout=REQUEST_TIMEOUT)  # fmt: skip
            if stdout.status != 200 or stdout.text != f"{job.marker}\n":
                return f"its log is not its own: HTTP {stdout.status} {stdout.text[:100]!r}"
        return ""


def crashed_by_the_node_process(record: dict[str, Any]) -> bool:
    """ENDED, or CRASHED with the message a node's journal recovery gives a job it found running."""
    if record["state"] == "ENDED":
        return True
    messages: Collection[str] = record.get("messages") or []
    return record["state"] == "CRASHED" and any("node process stopped" in m for m in messages)


def assert_nothing_lost(load: SteadyLoad, scenario: str, *, at_least: int, **allowed: Any) -> Accounting:
    """No ID given twice, none lost, and at least ``at_least`` jobs acknowledged (the load really ran)."""
    result = load.account(scenario, **allowed)
    assert result.duplicates == [], f"IDs given twice: {result.duplicates}"
    assert result.lost == [], f"{len(result.lost)} of {result.jobs} jobs lost: {result.lost[:20]}"
    assert result.jobs >= at_least, result.figures()
    return result
