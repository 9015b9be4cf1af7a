"""The whole local cluster: control plane, process kubelet and services daemon, up and down.

One local cluster per machine: the bridge, the pod addresses and the load-balancer addresses are
machine-wide, so `up` refuses while a cluster of another state directory runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from jqm_localcluster import controlplane, layout, procs, services
from jqm_localcluster.kubelet import agent, network

AGENTS = ("kubelet", "services")
OWNER_FILE = Path("/run/jqm-localcluster.owner")  # the state directory of the running cluster


def _agent(name: str, state: layout.StateDir) -> procs.Daemon:
    return procs.Daemon(name, state.run, state.logs)


def cannot_run_here() -> str | None:
    """Why the local cluster cannot start on this machine, or None."""
    missing = layout.Binaries.from_cache().missing()
    if missing:
        return f"the local cluster is not built (make cluster-build): {', '.join(map(str, missing))} missing"
    if os.geteuid() != 0:
        return "the process kubelet needs root (network namespaces, bind mounts)"
    return None


def up(state: layout.StateDir, timeout: float = 120.0) -> controlplane.Ports:
    """Start whatever is not running; return the API server ports. Raises if binaries are missing."""
    bins = layout.Binaries.from_cache()
    reason = cannot_run_here()
    if reason:
        raise RuntimeError(reason)
    _claim(state)
    state.ensure()
    network.ensure_bridge()
    ports = controlplane.up(state, bins, timeout)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in AGENTS:
        daemon = _agent(name, state)
        if daemon.pid() is None:
            argv = [sys.executable, "-m", "jqm_localcluster", "--state", str(state.root), name]
            daemon.start(argv, env=env, cgroup=procs.cgroup_dir(state.cgroup, name))
    _wait_node_ready(state, ports, timeout)
    return ports


def running(state: layout.StateDir) -> bool:
    """Every process of the cluster is up."""
    return all(pid is not None for pid in status(state).values())


def _claim(state: layout.StateDir) -> None:
    with contextlib.suppress(OSError):
        owner = layout.StateDir(Path(OWNER_FILE.read_text().strip()))
        if owner.root != state.root and any(pid is not None for pid in status(owner).values()):
            raise RuntimeError(f"a local cluster from {owner.root} is running: stop it first (make cluster-down)")
    OWNER_FILE.write_text(f"{state.root}\n")


@contextlib.contextmanager
def session(state: layout.StateDir) -> Iterator[Path]:
    """The cluster for the length of a block (tests): started if needed, stopped after only if it was
    not running before. Yields the admin kubeconfig."""
    was_running = running(state)
    up(state)
    try:
        yield state.admin_kubeconfig
    finally:
        if not was_running:
            down(state)


def run_with_cluster(state: layout.StateDir, command: list[str]) -> int:
    """Runs ``command`` with the cluster up and its kubeconfig in ``KUBECONFIG`` and
    ``JQM_TEST_KUBECONFIG``; the exit code is the command's. The cluster is stopped after only if it
    was not running before (a developer's ``make up`` survives a test run)."""
    with session(state) as kubeconfig:
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "JQM_TEST_KUBECONFIG": str(kubeconfig)}
        return subprocess.run(command, env=env, check=False).returncode


def node_ready(state: layout.StateDir, ports: controlplane.Ports) -> bool:
    """The cluster takes workloads: the Node is Ready and the node-lifecycle controller has lifted its
    not-ready taint (else new pods stay Pending), and the default ServiceAccount exists (else creating
    a pod in the default namespace is refused)."""
    ctx = controlplane.admin_ssl_context(state.pki)
    node = controlplane.get_json(f"{ports.server}/api/v1/nodes/{layout.NODE_NAME}", ctx) or {}
    conditions = node.get("status", {}).get("conditions", [])
    taints = node.get("spec", {}).get("taints") or []
    account = controlplane.get_json(f"{ports.server}/api/v1/namespaces/default/serviceaccounts/default", ctx)
    return (
        any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        and not any(t.get("key") == "node.kubernetes.io/not-ready" for t in taints)
        and account is not None
    )


def _wait_node_ready(state: layout.StateDir, ports: controlplane.Ports, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node_ready(state, ports):
            return
        if _agent("kubelet", state).pid() is None:
            raise RuntimeError(f"the kubelet exited; see {_agent('kubelet', state).logfile}")
        time.sleep(0.5)
    raise TimeoutError(f"node {layout.NODE_NAME} not Ready after {timeout:.0f} s")


def down(state: layout.StateDir) -> None:
    """Stop agents (the kubelet stops its pods), then the control plane; kill leftovers; remove the network."""
    for name in reversed(AGENTS):
        _agent(name, state).stop(timeout=60.0)
    controlplane.down(state)
    group = procs.cgroup_dir(state.cgroup)
    procs.kill_cgroup(group)
    if group is not None:
        with contextlib.suppress(OSError):
            group.parent.rmdir()  # jqm-localcluster/, once no cluster uses it
    owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else None
    if owner in (None, str(state.root)):  # the pod network belongs to the running cluster
        network.teardown_all()
        OWNER_FILE.unlink(missing_ok=True)


def status(state: layout.StateDir) -> dict[str, int | None]:
    names = [*controlplane.COMPONENTS, *AGENTS]
    return {name: procs.Daemon(name, state.run, state.logs).pid() for name in names}


def run_command(command: str, state: layout.StateDir) -> int:
    if command == "up":
        t0 = time.monotonic()
        ports = up(state)
        print(f"cluster up in {time.monotonic() - t0:.1f} s: {ports.server}")
        print(f"export KUBECONFIG={state.admin_kubeconfig}")
    elif command == "down":
        down(state)
        print("cluster down")
    elif command == "status":
        processes = status(state)
        for name, pid in processes.items():
            print(f"{name:24} {pid or 'stopped'}")
        return 0 if all(processes.values()) else 3
    elif command == "kubelet":
        asyncio.run(agent.main(state))
    elif command == "services":
        asyncio.run(services.main(state))
    return 0
