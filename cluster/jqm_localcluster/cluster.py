"""The whole local cluster: control plane, process kubelet and load balancer, up and down."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from jqm_localcluster import controlplane, layout, procs, services
from jqm_localcluster.kubelet import agent, network

AGENTS = ("kubelet", "services")


def _agent(name: str, state: layout.StateDir) -> procs.Daemon:
    return procs.Daemon(name, state.run, state.logs)


def up(state: layout.StateDir, timeout: float = 120.0) -> controlplane.Ports:
    """Start whatever is not running; return the API server ports. Raises if binaries are missing."""
    bins = layout.Binaries.from_cache()
    missing = bins.missing()
    if missing:
        raise FileNotFoundError(f"not built yet: {', '.join(map(str, missing))} (run cluster/build.sh)")
    if os.geteuid() != 0:
        raise PermissionError("the process kubelet needs root (network namespaces, bind mounts)")
    state.ensure()
    network.ensure_bridge()
    ports = controlplane.up(state, bins, timeout)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in AGENTS:
        daemon = _agent(name, state)
        if daemon.pid() is None:
            argv = [sys.executable, "-m", "jqm_localcluster", "--state", str(state.root), name]
            daemon.start(argv, env=env, cgroup=procs.cgroup_dir(name))
    _wait_node_ready(state, ports, timeout)
    return ports


def node_ready(state: layout.StateDir, ports: controlplane.Ports) -> bool:
    ctx = controlplane.admin_ssl_context(state.pki)
    node = controlplane.get_json(f"{ports.server}/api/v1/nodes/{layout.NODE_NAME}", ctx)
    conditions = (node or {}).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


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
    procs.kill_cgroup(procs.cgroup_dir())
    network.teardown_all()


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
        for name, pid in status(state).items():
            print(f"{name:24} {pid or 'stopped'}")
    elif command == "kubelet":
        asyncio.run(agent.main(state))
    elif command == "services":
        asyncio.run(services.main(state))
    return 0
