"""The pod network: a Linux bridge whose address is the node's, the CNI bridge + host-local config that
containerd applies to every pod, and the removal of everything it leaves (also the leftovers of the
process-kubelet generation of this cluster: bridge jqmbr0, network namespaces jqm-*, /etc/netns/jqm-*).

Pods get an address of ``POD_CIDR`` from ``layout.pod_ip_range()`` and routes to the pod network and
the Service range only: no default route, so a pod reaches the node, other pods and Services, and
nothing outside the machine. Their MAC address is derived from their address (:mod:`.cni_mac`), so an
address handed out again is reachable at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from jqm_localcluster import cni_mac, layout, mounts

PREFIX_LEN = ipaddress.ip_network(layout.POD_CIDR).prefixlen
NETNS_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")
CNI_CACHE = Path("/var/lib/cni")
CONFLIST = "10-jqm-local.conflist"
SYSTEM_CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def ensure_bridge() -> None:
    """The bridge with the node address, up. The CNI bridge plugin adopts it at the first pod; it
    exists earlier because the API server and the kubelet listen on its address.

    The Service range is routed to the bridge too: the host's connections to cluster IPs then leave
    from the node address, and a cluster IP kube-proxy has not programmed (yet) goes nowhere instead
    of out of the machine's default route."""
    if _ip("link", "show", layout.BRIDGE, check=False).returncode != 0:
        _ip("link", "add", layout.BRIDGE, "type", "bridge")
    if f" {layout.NODE_IP}/" not in _ip("-o", "addr", "show", "dev", layout.BRIDGE).stdout:
        _ip("addr", "add", f"{layout.NODE_IP}/{PREFIX_LEN}", "dev", layout.BRIDGE)
    _ip("link", "set", layout.BRIDGE, "up")
    _ip("route", "replace", layout.SERVICE_CIDR, "dev", layout.BRIDGE, "src", layout.NODE_IP)


def conflist(ipam_dir: Path, ip_range: tuple[str, str]) -> dict[str, Any]:
    """The CNI network: bridge (gateway on the node address, hairpin for a pod reaching itself through
    a Service, no masquerading) with host-local addresses from ``ip_range``."""
    first, last = ip_range
    return {
        "cniVersion": "1.0.0",
        "name": layout.CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": layout.BRIDGE,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(ipam_dir),
                    "ranges": [
                        [{"subnet": layout.POD_CIDR, "gateway": layout.NODE_IP, "rangeStart": first, "rangeEnd": last}]
                    ],
                    "routes": [{"dst": layout.SERVICE_CIDR}],
                },
            },
            {"type": cni_mac.NAME},
        ],
    }


def install_plugins(state: layout.StateDir) -> None:
    """The CNI bin directory containerd uses: a link to each of Debian's plugins, and ours, run by the
    system's Python 3 (it needs the standard library only)."""
    state.cni_bin.mkdir(parents=True, exist_ok=True)
    for plugin in SYSTEM_CNI_BIN.iterdir():
        link = state.cni_bin / plugin.name
        if not link.is_symlink() or link.readlink() != plugin:
            link.unlink(missing_ok=True)
            link.symlink_to(plugin)
    python = shutil.which("python3") or sys.executable
    source = Path(cni_mac.__file__).read_text()
    target = state.cni_bin / cni_mac.NAME
    layout.write_if_changed(target, f"#!{Path(python).resolve()}\n{source}")
    target.chmod(0o755)


def write_conflist(state: layout.StateDir) -> Path:
    """(Re)write the CNI config: the pod address range applies to the next pods."""
    state.cni_conf.mkdir(parents=True, exist_ok=True)
    path = state.cni_conf / CONFLIST
    layout.write_if_changed(path, json.dumps(conflist(state.ipam_data, layout.pod_ip_range()), indent=1))
    return path


def legacy_netns() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(layout.LEGACY_NETNS_PREFIX))


def teardown(state: layout.StateDir) -> None:
    """Remove the pod network and what pods left: network namespaces, IPAM records, CNI result cache
    entries, the bridge; and the process kubelet's leftovers."""
    netns = layout.RUNTIME_DIR / "containerd" / "netns"
    mounts.unmount_under(netns)
    shutil.rmtree(netns, ignore_errors=True)
    shutil.rmtree(state.ipam_data, ignore_errors=True)
    for cached in (CNI_CACHE / "results").glob(f"{layout.CNI_NETWORK}-*"):
        cached.unlink(missing_ok=True)
    for name in legacy_netns():
        _ip("netns", "delete", name, check=False)
    for etc in ETC_NETNS.glob(layout.LEGACY_NETNS_PREFIX + "*"):
        shutil.rmtree(etc, ignore_errors=True)
    with contextlib.suppress(OSError):
        ETC_NETNS.rmdir()  # only when empty
    for bridge in (layout.BRIDGE, layout.LEGACY_BRIDGE):
        _ip("link", "delete", bridge, check=False)


def leftovers() -> list[str]:
    """What of the pod network exists now (for tests and `status`)."""
    found = [b for b in (layout.BRIDGE, layout.LEGACY_BRIDGE) if _ip("link", "show", b, check=False).returncode == 0]
    found += [f"netns {n}" for n in legacy_netns()]
    netns = layout.RUNTIME_DIR / "containerd" / "netns"
    if netns.is_dir():
        found += [f"netns {p.name}" for p in netns.iterdir()]
    return found
