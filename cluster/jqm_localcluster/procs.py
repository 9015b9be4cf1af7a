"""Background processes with pidfiles, their own sessions, and a cgroup that can kill all of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

CGROUP_PARENT = "jqm-localcluster"
CGROUP_FS = Path("/sys/fs/cgroup")
# With cgroup v1 only, daemons are grouped in this hierarchy (any one would do: it is for killing).
V1_TRACKING = "pids"


def cgroup2_root() -> Path | None:
    """The cgroup v2 mount point, if there is one (pure v2, or the 'unified' tree of a hybrid)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return Path(parts[1])
    return None


def v1_hierarchies() -> list[Path]:
    """The mounted cgroup v1 hierarchies (cpu, memory, pids, name=systemd ...)."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup":
                found.append(Path(parts[1]))
    return found


def tracking_root() -> Path | None:
    """Where daemons are grouped: the v2 tree, else the v1 pids hierarchy, else nowhere."""
    root = cgroup2_root()
    if root is not None:
        return root
    pids = CGROUP_FS / V1_TRACKING
    return pids if pids in v1_hierarchies() else None


def cgroup_dir(group: str, *names: str) -> Path | None:
    """The cgroup jqm-localcluster/<group>/<names...> in the tracking tree, created; None without one."""
    root = tracking_root()
    if root is None:
        return None
    path = root.joinpath(CGROUP_PARENT, group, *names)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def join_cgroup(path: Path | None) -> None:
    """Move the calling process into a cgroup (used as preexec_fn: children inherit it)."""
    if path is not None:
        (path / "cgroup.procs").write_text(str(os.getpid()))


def _pids(path: Path) -> set[int]:
    pids: set[int] = set()
    for procs in path.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(p) for p in procs.read_text().split())
    return pids


def kill_cgroup(path: Path | None) -> None:
    """SIGKILL every process in a cgroup tree, wait until it is empty, and remove the tree."""
    if path is None or not path.exists():
        return
    if (path / "cgroup.kill").exists():
        with contextlib.suppress(OSError):
            (path / "cgroup.kill").write_text("1")
    for _ in range(100):
        pids = _pids(path)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    remove_tree(path)


def remove_tree(path: Path) -> None:
    """rmdir a cgroup directory tree, deepest first (cgroup files go with their directory)."""
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def prepare_v1_parent(relative: str) -> None:
    """Create ``relative`` (e.g. jqm-localcluster/c123/node) in every v1 hierarchy, with the cpuset
    values copied from the parent (a new cpuset cgroup starts empty and refuses tasks)."""
    for hierarchy in v1_hierarchies():
        path = hierarchy
        for part in Path(relative).parts:
            parent, path = path, path / part
            path.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (path / name).exists() and not (path / name).read_text().strip():
                    (path / name).write_text((parent / name).read_text())


def remove_everywhere(relative: str) -> None:
    """Kill what is left in ``relative`` in every hierarchy (v1 and v2) and remove it."""
    roots = [*v1_hierarchies(), *filter(None, [cgroup2_root()])]
    for root in roots:
        kill_cgroup(root / relative)


def _start_time(pid: int) -> str | None:
    """The process start time from /proc (guards against pid reuse); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


class Daemon:
    """One named background process: <run>/<name>.pid and <logs>/<name>.log."""

    def __init__(self, name: str, run_dir: Path, log_dir: Path) -> None:
        self.name = name
        self.pidfile = run_dir / f"{name}.pid"
        self.logfile = log_dir / f"{name}.log"

    def pid(self) -> int | None:
        """The pid if the process recorded in the pidfile is still the one running."""
        try:
            pid_s, started = self.pidfile.read_text().split()
        except (OSError, ValueError):
            return None
        pid = int(pid_s)
        return pid if _start_time(pid) == started else None

    def start(self, argv: Sequence[str | Path], env: dict[str, str] | None = None, cgroup: Path | None = None) -> int:
        """Start detached in a new session (its own process group), output to the log file."""
        with self.logfile.open("ab") as log:
            proc = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                preexec_fn=(lambda: join_cgroup(cgroup)) if cgroup else None,
            )
        started = _start_time(proc.pid)
        self.pidfile.write_text(f"{proc.pid} {started}\n")
        return proc.pid

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout` seconds, remove the pidfile."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid() is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
