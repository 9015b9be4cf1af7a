"""The one way tests wait: poll a check until it holds, within a bounded time, and fail saying what was
awaited and what the check gave last. No test sleeps a fixed time to let something happen.

An exception raised by the check ends the wait at once (a check may assert, e.g. that a process is still
alive); a check that should tolerate a failure catches it itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
"""Long enough for anything a test waits for on a loaded 2-core machine; a hang still fails."""
DEFAULT_EVERY = 0.05


def _gave_up(what: str, timeout: float, last: object) -> AssertionError:
    return AssertionError(f"gave up waiting for {what} after {timeout:g}s (last seen: {last!r:.300})")


def wait_until(
    check: Callable[[], T], *, what: str, timeout: float = DEFAULT_TIMEOUT, every: float = DEFAULT_EVERY
) -> T:
    """Calls ``check`` every ``every`` seconds until it returns something truthy, and returns that; raises
    AssertionError naming ``what`` once ``timeout`` seconds have passed (the check runs one last time then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout, value)
        time.sleep(every)


async def wait_until_async(
    check: Callable[[], T], *, what: str, within: float = DEFAULT_TIMEOUT, every: float = 0.01
) -> T:
    """As :func:`wait_until` (``within`` is its timeout), from a coroutine: the event loop runs while it waits."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _gave_up(what, within, value)
        await asyncio.sleep(every)
