"""The whole local cluster, up and down: control plane, containerd, kubelet, kube-proxy, the load
balancers, and the system workloads (CoreDNS, Traefik).

One local cluster per machine: the bridge, the pod addresses, the node ports and the load-balancer
addresses are machine-wide, so ``up`` refuses while a cluster of another state directory runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from jqm_localcluster import (
    addons,
    containerd,
    controlplane,
    hostpkgs,
    hoststate,
    imagebuild,
    layout,
    lb,
    mounts,
    node,
    podnet,
    procs,
)

NODE_DAEMONS = ("containerd", "kubelet", "kube-proxy", "loadbalancer")
OWNER_FILE = Path("/run/jqm-localcluster.owner")  # the state directory of the running cluster
NEEDED_COMMANDS = ("ip", "nft", "openssl", "ctr")


def _daemon(name: str, state: layout.StateDir) -> procs.Daemon:
    return procs.Daemon(name, state.run, state.logs)


def cannot_run_here() -> str | None:
    """Why the local cluster cannot start on this machine, or None."""
    missing = layout.Binaries.from_cache().missing()
    if missing:
        return f"the local cluster is not built (make cluster-build): {', '.join(map(str, missing))} missing"
    if os.geteuid() != 0:
        return "the local cluster needs root (containerd, network namespaces, cgroups)"
    packages = hostpkgs.missing(hostpkgs.RUNTIME)
    if packages:
        return f"Debian packages missing (make cluster-packages): {', '.join(packages)}"
    return None


def _argv(name: str, state: layout.StateDir, bins: layout.Binaries) -> list[str]:
    if name == "containerd":
        return containerd.argv(state)
    if name == "kubelet":
        return node.kubelet_argv(state, bins)
    if name == "kube-proxy":
        return node.kube_proxy_argv(state, bins)
    return [sys.executable, "-m", "jqm_localcluster", "--state", str(state.root), "loadbalancer"]


def write_configs(state: layout.StateDir) -> set[str]:
    """The node's configuration files, rewritten only when their content changes; returns the daemons
    whose file changed (kube-proxy exits when its file changes: it is to be restarted, as the others)."""
    files = {
        "containerd": ("containerd.toml", containerd.config(state)),
        "kubelet": ("kubelet.yaml", yaml.safe_dump(node.kubelet_config(state))),
        "kube-proxy": ("kube-proxy.yaml", yaml.safe_dump(node.kube_proxy_config(state))),
    }
    podnet.install_plugins(state)
    podnet.write_conflist(state)
    return {name for name, (file, text) in files.items() if layout.write_if_changed(state.config / file, text)}


def up(state: layout.StateDir, timeout: float = 180.0) -> controlplane.Ports:
    """Start whatever is not running; return the API server ports. Raises if it cannot run here."""
    bins = layout.Binaries.from_cache()
    reason = cannot_run_here()
    if reason:
        raise RuntimeError(reason)
    _claim(state)
    state.ensure()
    layout.RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    hoststate.record()
    if podnet.legacy_netns() or _link_exists(layout.LEGACY_BRIDGE):
        podnet.teardown(state)  # what the process-kubelet generation left
    hoststate.prepare()
    podnet.ensure_bridge()
    ports = controlplane.up(state, bins, timeout)
    for name in write_configs(state):
        _daemon(name, state).stop(timeout=30.0)  # restarted below with its new configuration
    procs.prepare_v1_parent(node.cgroup_root(state).lstrip("/"))
    archives = imagebuild.build([*imagebuild.cluster_images(bins), *imagebuild.project_images()])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in NODE_DAEMONS:
        daemon = _daemon(name, state)
        if daemon.pid() is None:
            daemon.start(_argv(name, state, bins), env=env, cgroup=procs.cgroup_dir(state.cgroup, "daemons", name))
        if name == "containerd":
            containerd.wait_answering(daemon, timeout)
            containerd.import_images(state, archives)
    _wait_node_ready(state, ports, timeout)
    addons.apply(bins.kubectl, state.admin_kubeconfig, timeout)
    return ports


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, check=False).returncode == 0


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
    found = controlplane.get_json(f"{ports.server}/api/v1/nodes/{layout.NODE_NAME}", ctx) or {}
    conditions = found.get("status", {}).get("conditions", [])
    taints = found.get("spec", {}).get("taints") or []
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
        for name in NODE_DAEMONS:
            if _daemon(name, state).pid() is None:
                raise RuntimeError(f"{name} exited; see {_daemon(name, state).logfile}")
        time.sleep(0.5)
    raise TimeoutError(f"node {layout.NODE_NAME} not Ready after {timeout:.0f} s")


def down(state: layout.StateDir) -> None:
    """Stop everything and leave the host as it was: the load balancers; the kubelet and kube-proxy;
    every pod (through the CRI, as a node shutdown would); containerd and its shims; the control plane;
    then mounts, network namespaces, the bridge, netfilter tables, cgroups and sysctls."""
    for name in ("loadbalancer", "kubelet", "kube-proxy"):
        _daemon(name, state).stop(timeout=30.0)
    bins = layout.Binaries.from_cache()
    if _daemon("containerd", state).pid() is not None and bins.crictl.exists():
        containerd.remove_all_pods(bins.crictl)
    _daemon("containerd", state).stop(timeout=30.0)
    controlplane.down(state)
    group = procs.cgroup_dir(state.cgroup)
    procs.kill_cgroup(group)
    owner = OWNER_FILE.read_text().strip() if OWNER_FILE.exists() else None
    if owner in (None, str(state.root)):  # the machine-wide parts belong to the running cluster
        procs.remove_everywhere(node.cgroup_root(state).lstrip("/"))
        for leftover in (state.kubelet_root, state.containerd_root, layout.RUNTIME_DIR):
            mounts.unmount_under(leftover)
        podnet.teardown(state)
        procs.remove_everywhere(procs.CGROUP_PARENT)
        hoststate.restore()
        shutil.rmtree(layout.RUNTIME_DIR, ignore_errors=True)
        OWNER_FILE.unlink(missing_ok=True)


def status(state: layout.StateDir) -> dict[str, int | None]:
    names = [*controlplane.COMPONENTS, *NODE_DAEMONS]
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
    elif command == "loadbalancer":
        asyncio.run(lb.main(state))
    return 0
