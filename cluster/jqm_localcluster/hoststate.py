"""What the local cluster changes on the host, recorded before the first ``up`` and put back by ``down``:
kernel settings (sysctls) and the netfilter tables that existed before.

The kubelet sets six sysctls at start and has no switch to leave them alone; the CNI bridge plugin turns
on IPv4 forwarding; pod-to-Service traffic between pods on the same bridge needs bridged packets to go
through netfilter (``bridge-nf-call-iptables``), which ``up`` turns on when it is off.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from jqm_localcluster import layout

PROC_SYS = Path("/proc/sys")
KUBELET_SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
NETWORK_SYSCTLS = ("net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables")
RECORDED = KUBELET_SYSCTLS + NETWORK_SYSCTLS
# Tables the cluster's parts create: kube-proxy's own, and the iptables-nft tables where the kubelet
# keeps its KUBE-* canary and hint chains.
KUBE_PROXY_TABLES = (("ip", "kube-proxy"), ("ip6", "kube-proxy"))


def _path(name: str, root: Path = PROC_SYS) -> Path:
    return root / name.replace(".", "/")


def read_sysctl(name: str, root: Path = PROC_SYS) -> str | None:
    try:
        return _path(name, root).read_text().strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str, root: Path = PROC_SYS) -> None:
    with contextlib.suppress(OSError):
        _path(name, root).write_text(value + "\n")


def nft_tables() -> list[list[str]]:
    """Every netfilter table as [family, name]."""
    listing = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    return [line.split()[1:3] for line in listing.splitlines() if line.startswith("table ")]


def record(path: Path = layout.SYSCTL_RECORD, root: Path = PROC_SYS) -> None:
    """Record the host's values once (a record left by an unclean stop is kept: it is the original)."""
    if path.exists():
        return
    state = {"sysctls": {name: read_sysctl(name, root) for name in RECORDED}, "nftTables": nft_tables()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1))


def prepare(root: Path = PROC_SYS) -> None:
    """Settings the pod network needs before the first pod."""
    if read_sysctl("net.bridge.bridge-nf-call-iptables", root) == "0":
        write_sysctl("net.bridge.bridge-nf-call-iptables", "1", root)


def restore(path: Path = layout.SYSCTL_RECORD, root: Path = PROC_SYS) -> dict[str, str]:
    """Put back every recorded sysctl and forget the record; returns what was changed back."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    changed = {}
    for name, value in state.get("sysctls", {}).items():
        if value is not None and read_sysctl(name, root) != value:
            write_sysctl(name, value, root)
            changed[name] = value
    remove_tables(before=[tuple(t) for t in state.get("nftTables", [])])
    path.unlink(missing_ok=True)
    return changed


def remove_tables(before: list[tuple[str, ...]]) -> None:
    """Delete kube-proxy's tables, and tables that did not exist before ``up`` and hold nothing but
    KUBE-* chains (the kubelet's, through iptables-nft)."""
    for family, name in nft_tables():
        if (family, name) in KUBE_PROXY_TABLES or ((family, name) not in before and _only_kube_chains(family, name)):
            subprocess.run(["nft", "delete", "table", family, name], capture_output=True, check=False)


def _only_kube_chains(family: str, name: str) -> bool:
    listing = subprocess.run(["nft", "list", "table", family, name], capture_output=True, text=True, check=False)
    chains = [line.split()[1] for line in listing.stdout.splitlines() if line.strip().startswith("chain ")]
    return bool(chains) and all(chain.startswith("KUBE-") or _empty_chain(listing.stdout, chain) for chain in chains)


def _empty_chain(listing: str, chain: str) -> bool:
    """A built-in chain that iptables-nft created alongside (it holds no rule but the jump to KUBE-*)."""
    lines = listing.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"chain {chain} "))
    body = []
    for line in lines[start + 1 :]:
        if line.strip() == "}":
            break
        body.append(line.strip())
    rules = [line for line in body if line and not line.startswith("type ")]
    return all("KUBE-" in rule for rule in rules)
