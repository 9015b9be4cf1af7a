"""One run of a container: a process in the pod's namespaces and its own cgroup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from jqm_localcluster import procs
from jqm_localcluster.kubelet.volumes import Mount


@dataclass(frozen=True)
class ProcessSpec:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    hostname: str
    mounts: list[Mount]


class Process:
    """Started through the shim (same pid as the command); stop = SIGTERM, grace, then kill the cgroup."""

    def __init__(self, proc: asyncio.subprocess.Process, cgroup: Path | None) -> None:
        self._proc = proc
        self.cgroup = cgroup
        self.pid = proc.pid

    @classmethod
    async def start(cls, spec: ProcessSpec, netns: str, run_dir: Path, cgroup: Path | None) -> Process:
        run_dir.mkdir(parents=True, exist_ok=True)
        spec_file = run_dir / "spec.json"
        spec_file.write_text(json.dumps(asdict(spec)))
        shim = ["ip", "netns", "exec", netns, sys.executable, "-m", "jqm_localcluster.kubelet.shim", str(spec_file)]
        # Join the cgroup before anything else runs (`ip netns exec` hides the host's /sys/fs/cgroup).
        join = (
            ["sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh", str(cgroup / "cgroup.procs")] if cgroup else []
        )
        env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PATH": os.defpath}
        with (run_dir / "output.log").open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *join, *shim, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, env=env
            )
        return cls(proc, cgroup)

    async def wait(self) -> int:
        """The exit code, container-style (128 + signal number when killed by a signal)."""
        code = await self._proc.wait()
        procs.kill_cgroup(self.cgroup)  # like the end of a pid namespace: nothing outlives the main process
        return 128 - code if code < 0 else code

    async def stop(self, grace: float) -> int:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(self._proc.wait()), max(grace, 0.0))
            except TimeoutError:
                procs.kill_cgroup(self.cgroup)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
        return await self.wait()
