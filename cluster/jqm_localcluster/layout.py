"""Where things are: pinned versions, cached binaries and the state directory."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

CLUSTER_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CLUSTER_DIR.parent
VERSIONS_FILE = CLUSTER_DIR / "versions.env"

NODE_NAME = "jqm-local"
BRIDGE = "jqmbr0"
POD_CIDR = "10.244.0.0/24"
BRIDGE_IP = "10.244.0.1"
CLUSTER_DOMAIN = "cluster.local"
SERVICE_CIDR = "10.96.0.0/16"
FIRST_SERVICE_IP = "10.96.0.1"
LB_BASE_IP = "127.0.0.100"


def read_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """Parse the KEY=value lines of versions.env (comments and blanks skipped)."""
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


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
    helm: Path

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
            helm=root / f"helm-{v['HELM_VERSION']}" / "bin" / "helm",
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
    def pods(self) -> Path:
        return self.root / "pods"

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
        for d in (self.root, self.pki, self.logs, self.run, self.pods):
            d.mkdir(parents=True, exist_ok=True)
