"""The node's own log: set up at start, and read back from the end for the engine log API."""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from pathlib import Path

from aiohttp.http_exceptions import HttpProcessingError

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _MalformedRequests(logging.Filter):
    """aiohttp logs every malformed request (already answered 400) at ERROR with a traceback, so that
    anyone could fill the log; they are dropped, or kept as one DEBUG line when the node logs DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg, record.args = "malformed request answered %s: %.200s", (error.code, error.message)
        record.exc_info, record.exc_text = None, None
        return True


class ThrottledWarning:
    """Logs one warning per ``interval`` at most, saying how many were held back: an event an operator
    must see (a peer with another cluster secret) shows in the log, a flood of them does not fill it."""

    def __init__(self, logger: logging.Logger, what: str, *, interval: float = 10.0) -> None:
        self.logger, self.what, self.interval = logger, what, interval
        self._next, self._held = 0.0, 0

    def note(self, detail: str) -> None:
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        self.logger.warning("%s %s (%d more since the last such warning)", self.what, detail, self._held)
        self._next, self._held = now + self.interval, 0


def configure_logging(engine_log: Path, level: str) -> None:
    """Logs to stderr (for ``kubectl logs``) and to a rotating file served by ``/ws/simple/enginelog``."""
    root = logging.getLogger()
    root.setLevel(level)
    formatter = logging.Formatter(_FORMAT)
    file_handler = logging.handlers.RotatingFileHandler(engine_log, maxBytes=10 * 2**20, backupCount=2)
    console = logging.StreamHandler()
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(_MalformedRequests())


def tail_lines(path: Path, count: int, *, block: int = 64 * 1024) -> list[str]:
    """The last ``count`` lines of a text file, oldest first, reading backwards block by block."""
    if count <= 0 or not path.exists():
        return []
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        data = b""
        while end > 0 and data.count(b"\n") <= count:
            start = max(0, end - block)
            f.seek(start)
            data = f.read(end - start) + data
            end = start
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]
