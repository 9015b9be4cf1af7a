"""Spawning job processes and learning of their end without polling or helper threads.

Each job process starts in its own process group (so a kill reaches the whole tree), in the node's
application root, with stdout/stderr opened straight onto the log files (no pipes to pump); a pidfd
registered with the event loop tells us the moment it exits. :class:`subprocess.Popen` starts it (it
vforks, and unlike ``os.posix_spawn`` it can set the working directory); none of its waiting machinery
runs: the pidfd does, which is cheaper than asyncio's subprocess transports and, on Python 3.11, a
watcher thread per child.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC

Process = subprocess.Popen[bytes]


def spawn(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, stdout_path: str, stderr_path: str) -> Process:
    """Starts ``args`` in ``cwd`` as the leader of a new process group, with default signal handling
    (Python ignores SIGPIPE and SIGXFSZ; children must not inherit that).

    Raises ``OSError`` when the program cannot be executed (missing, not executable) or ``cwd`` is missing.
    """
    stdout = os.open(stdout_path, _LOG_FLAGS, 0o640)
    try:
        stderr = os.open(stderr_path, _LOG_FLAGS, 0o640)
        try:
            return subprocess.Popen(
                list(args),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                process_group=0,
                restore_signals=True,
            )
        finally:
            os.close(stderr)
    finally:
        os.close(stdout)


def watch_exit(loop: asyncio.AbstractEventLoop, process: Process, on_exit: Callable[[int], None]) -> None:
    """Calls ``on_exit(exit_code)`` from the loop once ``process`` has ended (negative: killed by signal).

    The process is reaped by its own ``wait`` (at once: it has ended), so ``subprocess`` never reaps it
    behind our back and never sees it as left running."""
    pidfd = os.pidfd_open(process.pid)

    def reap() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        on_exit(process.wait())

    loop.add_reader(pidfd, reap)


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Sends ``sig`` to a whole process group; False when no process of the group is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_group_quietly(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_orphan_group(pid: int, marker: str) -> bool:
    """Kills the process group led by ``pid`` if that process is still the one started with ``marker``
    in its environment (a job left running by a node process that died); False otherwise. The check
    keeps a recycled pid from ever being killed."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environment = f.read().split(b"\0")
    except OSError:
        return False
    if marker.encode() not in environment:
        return False
    kill_group_quietly(pid)
    return True
