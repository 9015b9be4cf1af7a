"""A one-line progress display on a terminal while a command waits for a job."""

from __future__ import annotations

import time
from typing import TextIO

from jqm_client import JobInstance

SPINNER = "|/-\\"


class Progress:
    """``| job 2130706434000001 DemoEcho RUNNING 12s``, redrawn at every poll; silent when ``stream``
    is not a terminal (logs and pipes get no control characters)."""

    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        self._stream = stream
        self._enabled = stream.isatty() if enabled is None else enabled
        self._started = time.monotonic()
        self._frame = 0
        self._width = 0

    def update(self, job: JobInstance) -> None:
        if not self._enabled:
            return
        elapsed = int(time.monotonic() - self._started)
        where = f" position {job.position}" if job.position else ""
        line = (
            f"{SPINNER[self._frame % len(SPINNER)]} job {job.id} {job.application_name} {job.state}{where} {elapsed}s"
        )
        self._frame += 1
        self._stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self._stream.flush()

    def clear(self) -> None:
        if self._enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
