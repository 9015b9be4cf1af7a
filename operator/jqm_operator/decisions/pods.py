"""Node pods that cannot do their work, read from their pod objects (kubelet-written status only).

This is what keeps the status from saying "AsExpected" while every node crash-loops on a bad job
definition: the container's waiting reason names the problem, and with the node container's
``terminationMessagePolicy: FallbackToLogsOnError`` its last termination message is the end of its log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CRASH_LOOPING = "NodesCrashLooping"
NOT_STARTING = "NodesCannotStart"
UNSCHEDULABLE = "NodesUnschedulable"
WAITING_PROBLEMS: Mapping[str, str] = {
    "CrashLoopBackOff": CRASH_LOOPING,
    "ImagePullBackOff": NOT_STARTING,
    "ErrImagePull": NOT_STARTING,
    "ErrImageNeverPull": NOT_STARTING,
    "InvalidImageName": NOT_STARTING,
    "CreateContainerConfigError": NOT_STARTING,
    "CreateContainerError": NOT_STARTING,
    "RunContainerError": NOT_STARTING,
}
MESSAGE_CHARS = 300
"""Of a container's own message in a condition: enough for a config error, never a whole log."""


@dataclass(frozen=True, kw_only=True)
class PodProblem:
    pod: str
    reason: str
    """A Degraded reason: one of the constants above."""
    message: str


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _container_problem(name: str, container: Mapping[str, Any]) -> PodProblem | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = WAITING_PROBLEMS.get(str(waiting.get("reason") or ""))
    if reason is None:
        return None
    text = f"pod {name}: {waiting['reason']}"
    if reason == CRASH_LOOPING:
        last = (container.get("lastState") or {}).get("terminated") or {}
        text += f" after {int(container.get('restartCount') or 0)} restarts, last exit code {last.get('exitCode', '?')}"
        detail = last.get("message") or last.get("reason")
    else:
        detail = waiting.get("message")
    return PodProblem(pod=name, reason=reason, message=f"{text}: {_short(str(detail))}" if detail else text)


def _unschedulable(name: str, status: Mapping[str, Any]) -> PodProblem | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            detail = _short(str(condition.get("message") or "no Kubernetes node fits"))
            return PodProblem(pod=name, reason=UNSCHEDULABLE, message=f"pod {name} cannot be scheduled: {detail}")
    return None


def pod_problems(pods: Sequence[Mapping[str, Any]]) -> list[PodProblem]:
    """One problem per pod at most, terminating pods ignored, sorted by pod name."""
    problems = []
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if meta.get("deletionTimestamp"):
            continue
        name = str(meta.get("name"))
        found = _unschedulable(name, status)
        for container in status.get("containerStatuses") or []:
            found = found or _container_problem(name, container)
        if found:
            problems.append(found)
    return problems
