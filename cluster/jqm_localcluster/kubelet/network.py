"""Pod networking: a host bridge with the pod /24, and one network namespace + veth pair per pod."""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
from pathlib import Path

from jqm_localcluster import layout

NETNS_PREFIX = "jqm-"
NETNS_DIR = Path("/run/netns")
PREFIX_LEN = ipaddress.ip_network(layout.POD_CIDR).prefixlen


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def ensure_bridge() -> None:
    """Create the bridge with the gateway address, once. No forwarding or NAT: pods reach only the host."""
    if _ip("link", "show", layout.BRIDGE, check=False).returncode != 0:
        _ip("link", "add", layout.BRIDGE, "type", "bridge")
    addrs = _ip("-o", "addr", "show", "dev", layout.BRIDGE).stdout
    if f" {layout.BRIDGE_IP}/" not in addrs:
        _ip("addr", "add", f"{layout.BRIDGE_IP}/{PREFIX_LEN}", "dev", layout.BRIDGE)
    _ip("link", "set", layout.BRIDGE, "up")


def netns_names() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NETNS_PREFIX))


def teardown_all() -> None:
    """Remove every pod namespace (their veths go with them) and the bridge."""
    for name in netns_names():
        _ip("netns", "delete", name, check=False)
    _ip("link", "delete", layout.BRIDGE, check=False)


class Ipam:
    """Hands out the pod addresses of the /24 (gateway excluded), lowest free first."""

    def __init__(self, cidr: str = layout.POD_CIDR, gateway: str = layout.BRIDGE_IP) -> None:
        net = ipaddress.ip_network(cidr)
        self._free = [str(h) for h in net.hosts() if str(h) != gateway]
        self._used: set[str] = set()

    def allocate(self) -> str:
        for ip in self._free:
            if ip not in self._used:
                self._used.add(ip)
                return ip
        raise RuntimeError("pod network full")

    def release(self, ip: str) -> None:
        self._used.discard(ip)


def netns_name(pod_uid: str) -> str:
    return NETNS_PREFIX + pod_uid[:13]


async def _aip(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {err.decode().strip()}")


async def setup_pod(ns: str, ip: str) -> None:
    """Namespace `ns` with lo and eth0=ip/24 (default route via the bridge), host end on the bridge."""
    host_if = "vjqm" + ip.rsplit(".", 1)[1]
    await teardown_pod(ns)
    await _aip("netns", "add", ns)
    await _aip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
    await _aip("link", "set", host_if, "master", layout.BRIDGE, "up")
    await _aip("-n", ns, "addr", "add", f"{ip}/{PREFIX_LEN}", "dev", "eth0")
    await _aip("-n", ns, "link", "set", "lo", "up")
    await _aip("-n", ns, "link", "set", "eth0", "up")
    await _aip("-n", ns, "route", "add", "default", "via", layout.BRIDGE_IP)


async def teardown_pod(ns: str) -> None:
    if (NETNS_DIR / ns).exists():
        await _aip("netns", "delete", ns)
