"""Runs one job instance as upstream's shell runner does: arguments, environment, logs, kill.

The runner knows processes and files; the engine decides what a job's end means for its state.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from jqm_node.commands import build_arguments
from jqm_node.model import JobInstance, PathType
from jqm_node.process import kill_group_quietly, signal_group, spawn, watch_exit
from jqm_node.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """How a process ended: ``exit_code`` (negative: signal), whether a kill caused it, and why."""

    exit_code: int
    killed: bool = False
    reason: str | None = None


@dataclass(slots=True, eq=False)
class RunningJob:
    job: JobInstance
    pid: int = 0
    kill_requested: bool = False
    paused: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class ApiCredentials(Protocol):
    """Gives each job its own credential for the node's API (``JQM_API_LOGIN``/``JQM_API_PASSWORD``)."""

    def issue(self, job_id: int) -> tuple[str, str]: ...

    def revoke(self, job_id: int) -> None: ...


class JobRunner:
    def __init__(
        self,
        *,
        workspace: Workspace,
        node_name: str,
        api_local_url: str,
        kill_grace: float,
        base_env: dict[str, str],
        log_level: str = "INFO",
        credentials: ApiCredentials | None = None,
    ) -> None:
        self.workspace = workspace
        self.node_name = node_name
        self.api_local_url = api_local_url
        self.kill_grace = kill_grace
        self.base_env = base_env
        self.log_level = log_level
        self.credentials = credentials
        self.pwsh_available = shutil.which("pwsh") is not None

    def environment(self, job: JobInstance, *, login: str = "", password: str = "") -> dict[str, str]:
        jd = job.definition
        env = dict(self.base_env)
        env.update(
            JQM_JD_APPLICATION_NAME=jd.name,
            JQM_JD_KEYWORD_1=jd.keyword1 or "",
            JQM_JD_KEYWORD_2=jd.keyword2 or "",
            JQM_JD_KEYWORD_3=jd.keyword3 or "",
            JQM_JD_MODULE=jd.module or "",
            JQM_JD_PRIORITY=str(jd.priority or 0),
            JQM_JI_ID=str(job.id),
            JQM_JI_PARENT_ID=str(job.parent_id) if job.parent_id is not None else "",
            JQM_JI_KEYWORD_1=job.keyword1 or "",
            JQM_JI_KEYWORD_2=job.keyword2 or "",
            JQM_JI_KEYWORD_3=job.keyword3 or "",
            JQM_JI_MODULE=job.module or "",
            JQM_JI_USER_NAME=job.user or "",
            JQM_JI_TEMP_DIR=self.workspace.temp_dir(job.id),
            JQM_JI_DELIVERY_DIR=self.workspace.delivery_dir(job.id),
            JQM_JI_INPUT_DIR=str(self.workspace.input_dir(job.id)),
            JQM_NODE_NAME=self.node_name,
            JQM_NODE_APPLICATION_ROOT=str(self.workspace.root),
            JQM_NODE_LOG_LEVEL=self.log_level,
            JQM_Q_NAME=job.queue.name,
            JQM_API_LOGIN=login,
            JQM_API_PASSWORD=password,
            JQM_API_LOCAL_URL=self.api_local_url,
        )
        return env

    def start(self, job: JobInstance, on_exit: Callable[[RunningJob, Outcome], None]) -> RunningJob:
        """Starts the job's process; ``on_exit`` is called once from the event loop when it ends.

        A job that cannot start (missing program, no pwsh) ends at once as a failure, with the
        reason in its stderr log, so that callers see one path for every end.
        """
        loop = asyncio.get_running_loop()
        running = RunningJob(job=job)
        stdout, stderr = self.workspace.stdout_path(job.id), self.workspace.stderr_path(job.id)
        login, password = self.credentials.issue(job.id) if self.credentials is not None else ("", "")
        try:
            self.workspace.prepare_job(job.id)
            if job.definition.path_type is PathType.POWERSHELLCOMMAND and not self.pwsh_available:
                raise FileNotFoundError("pwsh (PowerShell) is not installed on this node")
            env = self.environment(job, login=login, password=password)
            process = spawn(
                build_arguments(job), env=env, cwd=self.workspace.root, stdout_path=stdout, stderr_path=stderr
            )
        except OSError as e:
            self._revoke(job.id)
            reason = f"could not start the job process: {e.strerror or e}"
            with open(stderr, "a", encoding="utf-8") as err:
                err.write(reason + "\n")
            loop.call_soon(on_exit, running, Outcome(exit_code=127, reason=reason))
            return running
        running.pid = process.pid

        def ended(exit_code: int) -> None:
            self._revoke(job.id)  # the job's credential dies with its process
            for timer in running.timers:
                timer.cancel()
            if running.kill_requested:
                kill_group_quietly(running.pid)  # leave no orphan of a killed tree behind
            on_exit(running, Outcome(exit_code=exit_code, killed=running.kill_requested))

        watch_exit(loop, process, ended)
        if job.definition.max_time_running > 0:
            running.timers.append(
                loop.call_later(job.definition.max_time_running * 60, self._time_limit_reached, running)
            )
        return running

    def _revoke(self, job_id: int) -> None:
        if self.credentials is not None:
            self.credentials.revoke(job_id)

    def _time_limit_reached(self, running: RunningJob) -> None:
        minutes = running.job.definition.max_time_running
        running.job.add_message(f"Killed: ran longer than maxTimeRunning ({minutes} min)")
        self.kill(running)

    def kill(self, running: RunningJob) -> None:
        """SIGTERM to the whole process group, SIGKILL after the grace period."""
        if running.kill_requested or not running.pid:
            return
        running.kill_requested = True
        if running.paused:
            signal_group(running.pid, signal.SIGCONT)
        if signal_group(running.pid, signal.SIGTERM):
            loop = asyncio.get_running_loop()
            running.timers.append(loop.call_later(self.kill_grace, kill_group_quietly, running.pid))

    def pause(self, running: RunningJob) -> bool:
        if running.paused or not running.pid:
            return False
        running.paused = signal_group(running.pid, signal.SIGSTOP)
        return running.paused

    def resume(self, running: RunningJob) -> bool:
        if not running.paused:
            return False
        running.paused = False
        return signal_group(running.pid, signal.SIGCONT)
