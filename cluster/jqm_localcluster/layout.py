"""Where things are: pinned versions, cached binaries and the state directory."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

CLUSTER_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CLUSTER_DIR.parent
VERSIONS_FILE = CLUSTER_DIR / "versions.env"

NODE_NAME = "jqm-local"
BRIDGE = "jqmcni0"  # made by the CNI bridge plugin (created earlier by `up`: the API server binds its address)
POD_CIDR = "10.244.0.0/24"
NODE_IP = "10.244.0.1"  # the bridge's address: the node's InternalIP, the pods' gateway, the API server's
CNI_NETWORK = "jqm-local"
POD_IP_RANGE_ENV = "JQM_POD_IP_RANGE"  # "FIRST-LAST" within POD_CIDR: a small range forces pod IP reuse
DEFAULT_POD_IP_RANGE = "10.244.0.2-10.244.0.254"
CLUSTER_DOMAIN = "cluster.local"
SERVICE_CIDR = "10.96.0.0/16"
FIRST_SERVICE_IP = "10.96.0.1"
CLUSTER_DNS_IP = "10.96.0.10"
LB_POOL_FIRST = "127.0.0.100"
LB_POOL_SIZE = 100
INGRESS_IP = "127.0.0.100"  # the ingress controller's Service asks for the first load-balancer address
KUBELET_PORT = 10250
RUNTIME_DIR = Path("/run/jqm-localcluster")  # sockets and containerd's runtime state (tmpfs)
CONTAINERD_SOCKET = RUNTIME_DIR / "containerd.sock"
SYSCTL_RECORD = RUNTIME_DIR.parent / "jqm-localcluster.sysctl.json"

# Image references as pods name them; containerd stores them as docker.io/library/<name>.
NODE_IMAGE = "jqm-node:latest"
OPERATOR_IMAGE = "jqm-operator:latest"
PYTHON_BASE_IMAGE = "docker.io/library/python:3.11-slim-bookworm"
PAUSE_IMAGE = "jqm-local/pause:3.10.1"
COREDNS_IMAGE = "jqm-local/coredns:v1.15.0"
TRAEFIK_IMAGE = "jqm-local/traefik:v3.6.12"

# What the process-kubelet generation of this cluster left on a machine (removed by `down` and `up`).
LEGACY_BRIDGE = "jqmbr0"
LEGACY_NETNS_PREFIX = "jqm-"


def pod_ip_range() -> tuple[str, str]:
    """The host-local IPAM range: ``$JQM_POD_IP_RANGE`` ("10.244.0.10-10.244.0.13") or the whole /24."""
    first, _, last = os.environ.get(POD_IP_RANGE_ENV, DEFAULT_POD_IP_RANGE).partition("-")
    net = ipaddress.IPv4Network(POD_CIDR)
    for address in (first, last):
        try:
            ip = ipaddress.IPv4Address(address.strip())
        except ValueError:
            raise ValueError(f"{POD_IP_RANGE_ENV}: {address} is not an IPv4 address") from None
        if ip not in net or str(ip) in (NODE_IP, str(net.network_address), str(net.broadcast_address)):
            raise ValueError(f"{POD_IP_RANGE_ENV}: {address} is not a pod address of {POD_CIDR}")
    if ipaddress.IPv4Address(first.strip()) > ipaddress.IPv4Address(last.strip()):
        raise ValueError(f"{POD_IP_RANGE_ENV}: {first} comes after {last}")
    return first.strip(), last.strip()


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Parse the KEY=value lines of versions.env (comments and blanks skipped)."""
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (rename) unless it holds exactly that; True if written."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text)
    partial.replace(path)
    return True


def cache_dir() -> Path:
    return Path(os.environ.get("JQM_CACHE_DIR", Path.home() / ".cache" / "jqm-standalone"))


@dataclass(frozen=True)
class Binaries:
    """Paths of the cached binaries built by cluster/build.sh."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    kubelet: Path
    kube_proxy: Path
    pause: Path
    helm: Path
    crictl: Path
    coredns: Path
    traefik: Path

    @classmethod
    def from_cache(cls, root: Path | None = None, versions: dict[str, str] | None = None) -> Binaries:
        root = root or cache_dir()
        v = versions or read_versions()
        k8s = root / f"k8s-{v['K8S_VERSION']}" / "bin"
        return cls(
            etcd=root / f"etcd-{v['ETCD_VERSION']}" / "bin" / "etcd",
            kube_apiserver=k8s / "kube-apiserver",
            kube_controller_manager=k8s / "kube-controller-manager",
            kube_scheduler=k8s / "kube-scheduler",
            kubectl=k8s / "kubectl",
            kubelet=k8s / "kubelet",
            kube_proxy=k8s / "kube-proxy",
            pause=k8s / "pause",
            helm=root / f"helm-{v['HELM_VERSION']}" / "bin" / "helm",
            crictl=root / f"crictl-{v['CRICTL_VERSION']}" / "bin" / "crictl",
            coredns=root / f"coredns-{v['COREDNS_VERSION']}" / "bin" / "coredns",
            traefik=root / f"traefik-{v['TRAEFIK_VERSION']}" / "bin" / "traefik",
        )

    def missing(self) -> list[Path]:
        return [p for p in vars(self).values() if not os.access(p, os.X_OK)]


@dataclass(frozen=True)
class StateDir:
    """Layout of the cluster's state directory (certificates, kubeconfigs, data, logs, pidfiles)."""

    root: Path

    @classmethod
    def default(cls) -> StateDir:
        return cls(Path(os.environ.get("JQM_CLUSTER_STATE", REPO_ROOT / ".state" / "cluster")))

    @property
    def cgroup(self) -> str:
        """This cluster's cgroup group name (under jqm-localcluster/): every process it starts is in it."""
        return "c" + hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:10]

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def kubelet_root(self) -> Path:
        """The kubelet's --root-dir (pod volumes: mounted while pods run)."""
        return self.root / "kubelet"

    @property
    def containerd_root(self) -> Path:
        """containerd's persistent root: content store and snapshots (the imported images)."""
        return self.root / "containerd"

    @property
    def cni_conf(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_bin(self) -> Path:
        """The CNI plugins containerd runs: Debian's (links to /usr/lib/cni) and the project's own."""
        return self.root / "cni" / "bin"

    @property
    def ipam_data(self) -> Path:
        """host-local IPAM's allocations (one file per pod address)."""
        return self.root / "cni" / "ipam"

    @property
    def config(self) -> Path:
        """Generated configuration files (containerd, kubelet, kube-proxy, scheduler, addons)."""
        return self.root / "config"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def kubeconfig(self, user: str) -> Path:
        """The kubeconfig of one identity (admin, controller-manager, scheduler, kubelet)."""
        return self.admin_kubeconfig if user == "admin" else self.root / f"{user}.kubeconfig"

    def ensure(self) -> None:
        for d in (self.root, self.pki, self.logs, self.run, self.config, self.cni_conf, self.cni_bin):
            d.mkdir(parents=True, exist_ok=True)
