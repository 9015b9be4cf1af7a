"""Multi-request operations (wait for a job, follow its logs) as sans-I/O generators.

A plan yields :class:`~jqm_client.protocol.Call` steps (the client sends them and sends the parsed
answer back in), :class:`Sleep` steps, and :class:`~jqm_client.models.LogChunk` items for the caller;
it returns its result. The sync and async clients each drive plans with a few lines, so the
logic exists once.

The client API has no long-polling or streaming route, so waiting and following poll with a
bounded backoff (:class:`PollPolicy`): the first poll at once, then ``initial`` seconds, growing by
``factor`` up to ``maximum``; following logs goes back to ``initial`` whenever new output arrived.
Logs are read with ``Range: bytes=<offset>-``: each poll transfers only new bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from jqm_client import calls
from jqm_client.errors import JobTimeoutError
from jqm_client.models import JobInstance, LogChunk, LogStream, State
from jqm_client.protocol import Call

T = TypeVar("T")

_NOT_STARTED = frozenset({State.SUBMITTED, State.HOLDED, State.SCHEDULED})


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Call[Any] | Sleep | LogChunk
Plan = Generator[Step, Any, T]
Clock = Callable[[], float]
OnUpdate = Callable[[JobInstance], object]


@dataclass(frozen=True, kw_only=True)
class PollPolicy:
    """Delays between polls, in seconds."""

    initial: float = 0.2
    factor: float = 1.5
    maximum: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.factor < 1:
            raise ValueError("a poll policy needs 0 < initial <= maximum and factor >= 1")


DEFAULT_POLL = PollPolicy()


class _Ticker:
    """Backoff and deadline of one plan."""

    def __init__(self, *, job_id: int, policy: PollPolicy, timeout: float | None, clock: Clock) -> None:
        self._job_id = job_id
        self._policy = policy
        self._timeout = timeout
        self._clock = clock
        self._deadline = None if timeout is None else clock() + timeout
        self._delay = policy.initial

    def pause(self, job: JobInstance, *, progressed: bool) -> Sleep:
        """The sleep before the next poll; raises :class:`JobTimeoutError` past the deadline."""
        if progressed:
            self._delay = self._policy.initial
        delay = self._delay
        self._delay = min(self._delay * self._policy.factor, self._policy.maximum)
        if self._deadline is None or self._timeout is None:
            return Sleep(delay)
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise JobTimeoutError(job_id=self._job_id, state=job.state, timeout=self._timeout)
        return Sleep(min(delay, remaining))


def wait(
    job_id: int,
    *,
    timeout: float | None = None,
    policy: PollPolicy = DEFAULT_POLL,
    on_update: OnUpdate | None = None,
    clock: Clock = time.monotonic,
) -> Plan[JobInstance]:
    """Polls the job until it reaches a final state; returns it. ``on_update`` sees every poll."""
    ticker = _Ticker(job_id=job_id, policy=policy, timeout=timeout, clock=clock)
    while True:
        job: JobInstance = yield calls.get_job(job_id)
        if on_update is not None:
            on_update(job)
        if job.state.is_final:
            return job
        yield ticker.pause(job, progressed=False)


def follow_logs(
    job_id: int,
    streams: Sequence[LogStream] = (LogStream.STDOUT, LogStream.STDERR),
    *,
    timeout: float | None = None,
    policy: PollPolicy = DEFAULT_POLL,
    on_update: OnUpdate | None = None,
    clock: Clock = time.monotonic,
) -> Plan[JobInstance]:
    """Yields the job's new log bytes as they come until the job is over; returns the final job.

    The state is read before the logs: once a final state has been seen, the read that follows
    returns everything the job wrote, so nothing is lost at the end.
    """
    ticker = _Ticker(job_id=job_id, policy=policy, timeout=timeout, clock=clock)
    offsets = dict.fromkeys(streams, 0)
    while True:
        job: JobInstance = yield calls.get_job(job_id)
        if on_update is not None:
            on_update(job)
        progressed = False
        if job.state not in _NOT_STARTED:
            for stream in offsets:
                data: bytes = yield calls.log(job_id, stream, offset=offsets[stream])
                if data:
                    offsets[stream] += len(data)
                    progressed = True
                    yield LogChunk(stream, data)
        if job.state.is_final:
            return job
        yield ticker.pause(job, progressed=progressed)
