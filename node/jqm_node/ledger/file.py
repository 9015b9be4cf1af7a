"""The ledger as a JSON file shared by the nodes of one machine (``JQM_ID_LEDGER=file:PATH``).

Writers serialise on an exclusive ``flock`` of ``PATH.lock``; the new content is written to a
temporary file, fsynced and renamed over ``PATH`` (then the directory is fsynced), so a reader sees
the old or the new content, never a torn one, even after a power cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from jqm_node.ledger.document import LedgerDocument, LedgerError

T = TypeVar("T")


class FileLedger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file:{path}"
        self._lock_path = path.with_name(path.name + ".lock")

    async def read(self) -> LedgerDocument:
        return await asyncio.to_thread(self._read_locked)

    async def update(self, change: Callable[[LedgerDocument], T]) -> T:
        return await asyncio.to_thread(self._update_locked, change)

    async def close(self) -> None:
        return None

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise LedgerError(f"the ID ledger {self.description} cannot be opened: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_locked(self) -> LedgerDocument:
        with self._locked(fcntl.LOCK_SH):
            return self._load()

    def _update_locked(self, change: Callable[[LedgerDocument], T]) -> T:
        with self._locked(fcntl.LOCK_EX):
            document = self._load()
            result = change(document)
            if document.changed:
                self._store(document)
            return result

    def _load(self) -> LedgerDocument:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return LedgerDocument({})
        except OSError as e:
            raise LedgerError(f"the ID ledger {self.description} cannot be read: {e.strerror or e}") from None
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as e:
            raise LedgerError(
                f"the ID ledger {self.description} is not valid JSON ({e}); repair or remove it"
            ) from None
        if not isinstance(data, dict):
            raise LedgerError(f"the ID ledger {self.description} must hold a JSON object")
        return LedgerDocument(data)

    def _store(self, document: LedgerDocument) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = json.dumps(document.as_objects(), indent=1).encode()
        try:
            with open(temporary, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as e:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise LedgerError(f"the ID ledger {self.description} cannot be written: {e.strerror or e}") from None
