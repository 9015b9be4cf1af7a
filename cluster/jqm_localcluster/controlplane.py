"""Start, check and stop etcd, kube-apiserver, kube-controller-manager and kube-scheduler on loopback."""

from __future__ import annotations

import errno
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from jqm_localcluster import certs, layout, procs

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int

    @property
    def server(self) -> str:
        """The API server listens on the node address: pods reach it there through the `kubernetes`
        Service (kube-proxy), the host's clients too."""
        return f"https://{layout.NODE_IP}:{self.apiserver}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    """Free on loopback and on the node address (when the bridge exists: before `up`, it does not)."""
    for host in ("127.0.0.1", layout.NODE_IP):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
            try:
                s.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL:
                    return False
    return True


def load_ports(state: layout.StateDir) -> Ports | None:
    try:
        return Ports(**json.loads(state.ports_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def choose_ports(state: layout.StateDir) -> Ports:
    """Reuse the recorded ports when they are all free (the kubeconfig stays valid), else pick new ones."""
    old = load_ports(state)
    if old is not None and all(_port_free(p) for p in asdict(old).values()):
        return old
    chosen: set[int] = set()
    while len(chosen) < len(Ports.__dataclass_fields__):
        chosen.add(_free_port())
    ports = Ports(*sorted(chosen))
    state.ports_file.write_text(json.dumps(asdict(ports)))
    return ports


def argv(component: str, bins: layout.Binaries, state: layout.StateDir, ports: Ports) -> list[str]:
    """The command line of one control-plane component."""
    pki = state.pki
    if component == "etcd":
        client, peer = f"http://127.0.0.1:{ports.etcd_client}", f"http://127.0.0.1:{ports.etcd_peer}"
        return [
            str(bins.etcd),
            "--name=default",
            f"--data-dir={state.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=2147483648",
            "--log-level=warn",
        ]
    if component == "kube-apiserver":
        return [
            str(bins.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
            f"--bind-address={layout.NODE_IP}",
            f"--secure-port={ports.apiserver}",
            f"--advertise-address={layout.NODE_IP}",
            f"--cert-dir={state.root / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            # logs, exec and port-forward: the API server calls the kubelet on the node address.
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ]
    if component == "kube-controller-manager":
        kc = state.kubeconfig("controller-manager")
        return [
            str(bins.kube_controller_manager),
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.controller_manager}",
            "--leader-elect=false",
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
            "--profiling=false",
            "--v=1",
        ]
    if component == "kube-scheduler":
        kc = state.kubeconfig("scheduler")
        return [
            str(bins.kube_scheduler),
            f"--config={state.root / 'scheduler.yaml'}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            "--profiling=false",
            "--v=1",
        ]
    raise ValueError(component)


def scheduler_config(kubeconfig: Path) -> dict[str, Any]:
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "leaderElection": {"leaderElect": False},
    }


def admin_ssl_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return ctx


def probe(url: str, ctx: ssl.SSLContext | None = None) -> bool:
    """True when GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def get_json(url: str, ctx: ssl.SSLContext) -> dict[str, Any] | None:
    """GET url as a JSON object; None when it cannot be had (not found, not reachable, not an object)."""
    try:
        with urllib.request.urlopen(url, timeout=5, context=ctx) as resp:
            value = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def wait_for(what: str, url: str, ctx: ssl.SSLContext | None, daemon: procs.Daemon, timeout: float) -> None:
    """Poll url until it answers 200; fail early if the process died, late if it never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(url, ctx):
            return
        if daemon.pid() is None:
            raise RuntimeError(f"{what} exited; see {daemon.logfile}")
        time.sleep(0.25)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s ({url}); see {daemon.logfile}")


def daemons(state: layout.StateDir) -> dict[str, procs.Daemon]:
    return {name: procs.Daemon(name, state.run, state.logs) for name in COMPONENTS}


def up(state: layout.StateDir, bins: layout.Binaries, timeout: float = 120.0) -> Ports:
    """Start what is not running, in dependency order, each waited for; idempotent."""
    state.ensure()
    certs.ensure_pki(state.pki)
    running = {name: d.pid() is not None for name, d in daemons(state).items()}
    ports = load_ports(state) if all(running.values()) else None
    if ports is None:
        down(state)
        ports = choose_ports(state)
    certs.write_kubeconfigs(state, ports.server)
    (state.root / "scheduler.yaml").write_text(yaml.safe_dump(scheduler_config(state.kubeconfig("scheduler"))))
    ctx = admin_ssl_context(state.pki)
    health = {
        "etcd": (f"http://127.0.0.1:{ports.etcd_client}/health", None),
        "kube-apiserver": (f"{ports.server}/readyz", ctx),
        "kube-controller-manager": (f"https://127.0.0.1:{ports.controller_manager}/healthz", _insecure()),
        "kube-scheduler": (f"https://127.0.0.1:{ports.scheduler}/healthz", _insecure()),
    }
    cgroup = procs.cgroup_dir(state.cgroup, "control-plane")
    for name, daemon in daemons(state).items():
        if daemon.pid() is None:
            daemon.start(argv(name, bins, state, ports), cgroup=cgroup)
        url, url_ctx = health[name]
        wait_for(name, url, url_ctx, daemon, timeout)
    return ports


def _insecure() -> ssl.SSLContext:
    """For the self-signed /healthz of controller-manager and scheduler (loopback only)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def down(state: layout.StateDir) -> None:
    """Stop the components in reverse order, then kill whatever is left in their cgroup."""
    for daemon in reversed(daemons(state).values()):
        daemon.stop()
    procs.kill_cgroup(procs.cgroup_dir(state.cgroup, "control-plane"))
