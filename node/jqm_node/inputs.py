"""Files given to a waiting job (``POST ji/{id}/files/{name}``), streamed to disk within per-job limits.

A job may receive at most ``max_files`` input files totalling ``max_bytes`` (``JQM_MAX_INPUT_FILES``,
``JQM_MAX_INPUT_BYTES``). A file is written to a hidden temporary name while it arrives and counted
as it arrives (uploads to the same job at the same time share the budget), then renamed; a file
that would pass a limit is refused with a clear error and leaves nothing behind. Posting a name
again replaces the earlier file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path

from jqm_node.errors import BadRequestError, JqmError
from jqm_node.workspace import Workspace

PARTIAL_PREFIX = ".jqm-upload-"


class InputTooLargeError(JqmError):
    code = 10
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def _usage(directory: Path, name: str) -> tuple[int, int, int]:
    """(files, total bytes, bytes of ``name`` if present) of the complete files of a job's input directory."""
    files = total = replaced = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0, 0, 0
    for entry in entries:
        if entry.name.startswith(PARTIAL_PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        size = entry.stat(follow_symlinks=False).st_size
        files += 1
        total += size
        if entry.name == name:
            replaced = size
    return files, total, replaced


class InputFiles:
    def __init__(self, workspace: Workspace, *, max_files: int, max_bytes: int) -> None:
        self.workspace = workspace
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        """Per job with uploads under way: its lock and how many uploads hold or wait for it."""

    @staticmethod
    def check_name(name: str) -> str:
        if (
            not name
            or name in (".", "..")
            or any(c in name for c in "/\\\x00")
            or len(name) > 255
            or name.startswith(PARTIAL_PREFIX)
        ):
            raise BadRequestError(f"invalid input file name {name!r}: a plain file name is expected")
        return name

    async def store(self, job_id: int, name: str, chunks: AsyncIterator[bytes]) -> None:
        """Writes the file from ``chunks``; raises 400/413 errors when a limit would be passed.

        Uploads to one job are written one after the other, so that each sees the others' sizes.
        """
        self.check_name(name)
        lock, users = self._locks.get(job_id, (asyncio.Lock(), 0))
        self._locks[job_id] = (lock, users + 1)
        try:
            async with lock:
                await self._store(job_id, name, chunks)
        finally:
            lock, users = self._locks[job_id]
            if users == 1:
                del self._locks[job_id]
            else:
                self._locks[job_id] = (lock, users - 1)

    async def _store(self, job_id: int, name: str, chunks: AsyncIterator[bytes]) -> None:
        directory = self.workspace.input_dir(job_id)
        files, total, replaced = await asyncio.to_thread(_usage, directory, name)
        if not replaced and not (directory / name).exists() and files + 1 > self.max_files:
            raise BadRequestError(f"a job may receive at most {self.max_files} input files (JQM_MAX_INPUT_FILES)")
        budget = self.max_bytes - (total - replaced)
        partial = directory / f"{PARTIAL_PREFIX}{secrets.token_hex(8)}"
        try:
            await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
            with partial.open("wb") as out:
                received = 0
                async for chunk in chunks:
                    received += len(chunk)
                    if received > budget:
                        raise InputTooLargeError(
                            f"the input files of a job may total at most {self.max_bytes} bytes (JQM_MAX_INPUT_BYTES)"
                        )
                    await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(os.replace, partial, directory / name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
