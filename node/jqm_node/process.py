"""Spawning job processes and learning of their end without polling or helper threads.

``os.posix_spawnp`` starts the process in its own process group (so a kill reaches the whole tree)
with stdout/stderr opened straight onto the log files (no pipes to pump), and a pidfd registered
with the event loop tells us the moment it exits. This is cheaper than asyncio's subprocess
machinery, which adds transports and, on Python 3.11, a watcher thread per child.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence

_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)  # Python ignores these; children must not inherit that
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def spawn(args: Sequence[str], *, env: Mapping[str, str], stdout_path: str, stderr_path: str) -> int:
    """Starts ``args`` as the leader of a new process group and returns its pid.

    Raises ``OSError`` when the program cannot be executed (missing, not executable).
    """
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, _LOG_FLAGS, 0o640),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, _LOG_FLAGS, 0o640),
    ]
    return os.posix_spawnp(
        args[0], list(args), dict(env), file_actions=file_actions, setpgroup=0, setsigdef=_RESET_SIGNALS
    )


def watch_exit(loop: asyncio.AbstractEventLoop, pid: int, on_exit: Callable[[int], None]) -> None:
    """Calls ``on_exit(exit_code)`` from the loop once ``pid`` has ended (negative: killed by signal)."""
    pidfd = os.pidfd_open(pid)

    def reap() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        on_exit(os.waitstatus_to_exitcode(status))

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
