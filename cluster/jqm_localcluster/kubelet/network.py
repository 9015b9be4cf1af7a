"""Pod networking: a host bridge with the pod /24, and one network namespace + veth pair per pod."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import subprocess
from pathlib import Path

from jqm_localcluster import layout

NETNS_PREFIX = "jqm-"
NETNS_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")  # `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/*

PREFIX_LEN = ipaddress.ip_network(layout.POD_CIDR).prefixlen


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def ensure_bridge() -> None:
    """Create the bridge with the host's address on the pod network, once (no forwarding, no NAT)."""
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
    for etc in ETC_NETNS.glob(NETNS_PREFIX + "*"):
        shutil.rmtree(etc, ignore_errors=True)
    with contextlib.suppress(OSError):
        ETC_NETNS.rmdir()  # only when empty: other users' files stay
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


def etc_files(ip: str, hostname: str, namespace: str) -> dict[str, str]:
    """The pod's /etc/hosts, and /etc/resolv.conf pointing at the cluster DNS on the bridge address."""
    hosts = f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{ip}\t{hostname}\n"
    search = f"{namespace}.svc.{layout.CLUSTER_DOMAIN} svc.{layout.CLUSTER_DOMAIN} {layout.CLUSTER_DOMAIN}"
    resolv = f"nameserver {layout.BRIDGE_IP}\nsearch {search}\noptions ndots:5 timeout:1 attempts:2\n"
    return {"hosts": hosts, "resolv.conf": resolv}


async def setup_pod(ns: str, ip: str, hostname: str, namespace: str) -> None:
    """Namespace `ns` with lo and eth0=ip/24, its host end on the bridge, and the service range routed to
    the bridge (the host holds the cluster IPs). No default route: a pod reaches the host and other pods
    only; anything else fails at once."""
    host_if = "vjqm" + ip.rsplit(".", 1)[1]
    await teardown_pod(ns)
    etc = ETC_NETNS / ns
    etc.mkdir(parents=True, exist_ok=True)
    for name, content in etc_files(ip, hostname, namespace).items():
        (etc / name).write_text(content)
    await _aip("netns", "add", ns)
    await _aip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
    await _aip("link", "set", host_if, "master", layout.BRIDGE, "up")
    await _aip("-n", ns, "addr", "add", f"{ip}/{PREFIX_LEN}", "dev", "eth0")
    await _aip("-n", ns, "link", "set", "lo", "up")
    await _aip("-n", ns, "link", "set", "eth0", "up")
    await _aip("-n", ns, "route", "add", layout.SERVICE_CIDR, "via", layout.BRIDGE_IP)


async def teardown_pod(ns: str) -> None:
    if (NETNS_DIR / ns).exists():
        await _aip("netns", "delete", ns)
    shutil.rmtree(ETC_NETNS / ns, ignore_errors=True)
