"""Container records and the pod status the kubelet reports from them (pure functions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ContainerRecord:
    """What the kubelet knows of one container across its restarts."""

    name: str
    image: str
    restart_count: int = 0
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    container_id: str = ""
    done: bool = False  # terminated and will not be restarted
    exit_code: int | None = None

    @classmethod
    def resumed(cls, name: str, image: str, previous: Obj | None) -> ContainerRecord:
        """The record of a container a previous kubelet ran: like after a node reboot, a container
        that was running counts a restart and its last state is an unknown termination."""
        record = cls(name, image)
        if previous is None:
            return record
        record.restart_count = previous.get("restartCount", 0)
        record.last_state = previous.get("lastState") or {}
        if "running" in previous.get("state", {}):
            record.restart_count += 1
            record.last_state = {"terminated": {"exitCode": 255, "reason": "Unknown", "finishedAt": now()}}
        return record

    def running(self, container_id: str) -> None:
        self.container_id = container_id
        self.state = {"running": {"startedAt": now()}}
        self.ready = self.done = False
        self.exit_code = None

    def terminated(self, exit_code: int, reason: str | None = None) -> None:
        started = self.state.get("running", {}).get("startedAt", now())
        self.exit_code = exit_code
        self.state = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                "startedAt": started,
                "finishedAt": now(),
                "containerID": self.container_id,
            }
        }
        self.ready = self.started = False

    def waiting(self, reason: str, message: str = "") -> None:
        """Waiting (to restart, or for its configuration); the last termination moves to lastState."""
        if "terminated" in self.state:
            self.last_state = self.state
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.ready = self.started = False

    def to_api(self) -> Obj:
        out = {
            "name": self.name,
            "image": self.image,
            "imageID": f"local://{self.image}",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            out["containerID"] = self.container_id
        return out


def phase(init: list[ContainerRecord], main: list[ContainerRecord]) -> str:
    """Pending until init containers succeed and a container ran; Succeeded/Failed once all are done."""
    if any(r.done and r.exit_code != 0 for r in init):
        return "Failed"
    if not all(r.done for r in init):
        return "Pending"
    if main and all(r.done for r in main):
        return "Succeeded" if all(r.exit_code == 0 for r in main) else "Failed"
    if any(r.container_id for r in main):
        return "Running"
    return "Pending"


def _condition(kind: str, ok: bool, old: dict[str, Obj], reason: str = "") -> Obj:
    status = "True" if ok else "False"
    previous = old.get(kind)
    changed_at = previous["lastTransitionTime"] if previous and previous["status"] == status else now()
    cond = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": changed_at}
    if reason and not ok:
        cond["reason"] = reason
    return cond


def pod_status(
    old_status: Obj,
    *,
    host_ip: str,
    pod_ip: str | None,
    start_time: str,
    network_ready: bool,
    init: list[ContainerRecord],
    main: list[ContainerRecord],
) -> Obj:
    """The full status to report, keeping transition times of conditions that did not change."""
    old = {c["type"]: c for c in old_status.get("conditions", [])}
    pod_phase = phase(init, main)
    initialized = all(r.done and r.exit_code == 0 for r in init)
    ready = pod_phase == "Running" and all(r.ready for r in main)
    not_ready = "PodCompleted" if pod_phase in ("Succeeded", "Failed") else "ContainersNotReady"
    status: Obj = {
        "phase": pod_phase,
        "conditions": [
            _condition("PodReadyToStartContainers", network_ready, old),
            _condition("Initialized", initialized, old, "ContainersNotInitialized"),
            _condition("Ready", ready, old, not_ready),
            _condition("ContainersReady", ready, old, not_ready),
            _condition("PodScheduled", True, old),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": start_time,
        "initContainerStatuses": [r.to_api() for r in init],
        "containerStatuses": [r.to_api() for r in main],
    }
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if "qosClass" in old_status:
        status["qosClass"] = old_status["qosClass"]
    return status
