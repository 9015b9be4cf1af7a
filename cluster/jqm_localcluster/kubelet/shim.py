"""Container entry point, run by the kubelet as `ip netns exec <pod-netns> python -m ...shim SPEC`.

`ip netns exec` already gives a private mount namespace (mounts made here do not reach the host) and
the pod's /etc/hosts and /etc/resolv.conf; the kubelet has put the process in the container's cgroup.
The shim takes a UTS namespace with the pod's host name, bind-mounts the volumes at their mount paths,
changes directory and execs the container command (same pid).
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
from pathlib import Path

CLONE_NEWUTS = 0x04000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384


def _mount(libc: ctypes.CDLL, source: str | None, target: str, flags: int) -> None:
    src = source.encode() if source is not None else None
    if libc.mount(src, target.encode(), None, flags, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} {target}: {os.strerror(err)}")


def bind(libc: ctypes.CDLL, source: str, target: str, read_only: bool) -> None:
    """Bind source at target (creating a missing target like the source: directory or empty file)."""
    dst = Path(target)
    if not dst.exists():
        if Path(source).is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.touch()
    _mount(libc, source, target, MS_BIND | MS_REC)
    if read_only:
        _mount(libc, None, target, MS_BIND | MS_REMOUNT | MS_RDONLY)


def main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUTS) == 0:
        socket.sethostname(spec["hostname"])
    # Open every source first: a mount (the private /tmp, say) may hide the source of a later one.
    fds = [os.open(m["source"], os.O_PATH) for m in spec["mounts"]]
    for m, fd in zip(spec["mounts"], fds, strict=True):
        bind(libc, f"/proc/self/fd/{fd}", m["target"], m["read_only"])
        os.close(fd)
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    main(sys.argv[1])
