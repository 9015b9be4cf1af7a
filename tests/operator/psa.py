"""Pod Security Admission "restricted" (Kubernetes 1.33, every check of the baseline and restricted
levels), as a pure function: the unit tests run it on every pod the operator and the chart create. The
integration tests check the same pods against the real admission plugin."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _seccomp_ok(profile: Mapping[str, Any] | None) -> bool:
    return bool(profile) and (profile or {}).get("type") in ("RuntimeDefault", "Localhost")


def restricted_violations(pod: Mapping[str, Any]) -> list[str]:
    """What "restricted" forbids in a pod spec; empty when the pod would be admitted."""
    problems: list[str] = []
    pod_sc = pod.get("securityContext") or {}
    problems += [f"host namespace {k}" for k in ("hostNetwork", "hostPID", "hostIPC") if pod.get(k)]
    problems += [
        f"volume {v.get('name')} is not an allowed type"
        for v in pod.get("volumes") or []
        if not set(v) - {"name"} <= RESTRICTED_VOLUMES
    ]
    problems += [
        f"unsafe sysctl {s.get('name')}" for s in pod_sc.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS
    ]
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runAsUser 0")
    if pod_sc.get("runAsNonRoot") is False:
        problems.append("pod runAsNonRoot false")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("pod hostProcess")
    if (pod_sc.get("seLinuxOptions") or {}).get("type") not in SELINUX_TYPES:
        problems.append("pod seLinuxOptions type")
    if (pod_sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        problems.append("pod appArmor Unconfined")
    pod_seccomp = pod_sc.get("seccompProfile")
    if pod_seccomp and not _seccomp_ok(pod_seccomp):
        problems.append("pod seccompProfile not RuntimeDefault or Localhost")
    for box in _containers(pod):
        name, sc = box.get("name"), box.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities add more than NET_BIND_SERVICE")
        if sc.get("runAsNonRoot") is False or (
            sc.get("runAsNonRoot") is None and pod_sc.get("runAsNonRoot") is not True
        ):
            problems.append(f"{name}: runAsNonRoot not true")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser 0")
        if not _seccomp_ok(sc.get("seccompProfile")) and (sc.get("seccompProfile") or not _seccomp_ok(pod_seccomp)):
            problems.append(f"{name}: seccompProfile not RuntimeDefault or Localhost")
        if sc.get("procMount") not in (None, "Default"):
            problems.append(f"{name}: procMount")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"{name}: hostProcess")
        if (sc.get("seLinuxOptions") or {}).get("type") not in SELINUX_TYPES:
            problems.append(f"{name}: seLinuxOptions type")
        if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{name}: appArmor Unconfined")
        problems += [f"{name}: hostPort {p['hostPort']}" for p in box.get("ports") or [] if p.get("hostPort")]
    return problems
