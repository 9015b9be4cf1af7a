"""A chained CNI plugin (``jqm-mac-from-ip``): a pod's interface gets a MAC address derived from its IPv4.

Why: a pod that gets the address of a pod that is gone (host-local hands addresses out again, at once
with a narrow ``JQM_POD_IP_RANGE``) would otherwise have a new random MAC, while the other pods' and
the node's neighbour tables still map the address to the old MAC for up to a minute: connections to
it time out and its DNS answers are lost (the bridge plugin's one gratuitous ARP does not update
them). With ``0a:58:<the four bytes of the address>`` (the convention of OVN-Kubernetes), an address
always has the same MAC, so neighbour entries never go stale. ``0a`` is a locally administered,
unicast prefix.

Runs after ``bridge`` (its ``prevResult`` names the interface and the address), as a program that
containerd executes: the standard library only, no import from this package, since it runs under the
system's Python, not the project's virtualenv. ``podnet.install_plugins`` copies it into the CNI bin
directory.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from typing import Any

NAME = "jqm-mac-from-ip"
SUPPORTED_VERSIONS = ["0.4.0", "1.0.0"]


def mac_from_ip(address: str) -> str:
    """``10.244.0.5`` -> ``0a:58:0a:f4:00:05``."""
    return ":".join(f"{byte:02x}" for byte in (0x0A, 0x58, *ipaddress.IPv4Address(address).packed))


def sandbox_address(result: dict[str, Any], ifname: str) -> tuple[int, str] | None:
    """The index of the pod's interface ``ifname`` in ``result["interfaces"]`` and its IPv4 address."""
    interfaces = result.get("interfaces") or []
    for ip in result.get("ips") or []:
        index = ip.get("interface")
        address = ip.get("address", "").split("/")[0]
        if (
            isinstance(index, int)
            and 0 <= index < len(interfaces)
            and interfaces[index].get("name") == ifname
            and interfaces[index].get("sandbox")
            and ipaddress.ip_address(address).version == 4
        ):
            return index, address
    return None


def with_mac(result: dict[str, Any], index: int, mac: str) -> dict[str, Any]:
    """The result with the pod's interface reporting its new MAC."""
    interfaces = [dict(interface) for interface in result["interfaces"]]
    interfaces[index]["mac"] = mac
    return {**result, "interfaces": interfaces}


def _set_mac(netns: str, ifname: str, mac: str) -> None:
    nsenter, ip = shutil.which("nsenter") or "/usr/bin/nsenter", shutil.which("ip") or "/usr/sbin/ip"
    subprocess.run([nsenter, f"--net={netns}", ip, "link", "set", "dev", ifname, "address", mac],
                   check=True, capture_output=True, text=True, timeout=10)  # fmt: skip


def _error(code: int, message: str, details: str = "") -> int:
    print(json.dumps({"cniVersion": SUPPORTED_VERSIONS[-1], "code": code, "msg": message, "details": details}))
    return 1


def main() -> int:
    command = os.environ.get("CNI_COMMAND", "")
    if command == "VERSION":
        print(json.dumps({"cniVersion": SUPPORTED_VERSIONS[-1], "supportedVersions": SUPPORTED_VERSIONS}))
        return 0
    if command != "ADD":
        return 0  # DEL, CHECK, GC, STATUS: nothing of ours to remove or check
    config = json.load(sys.stdin)
    result = config.get("prevResult")
    if not isinstance(result, dict):
        return _error(7, f"{NAME} must follow a plugin that returns a result (bridge)")
    found = sandbox_address(result, os.environ.get("CNI_IFNAME", "eth0"))
    if found is not None:
        index, address = found
        mac = mac_from_ip(address)
        try:
            _set_mac(os.environ["CNI_NETNS"], result["interfaces"][index]["name"], mac)
        except (OSError, subprocess.CalledProcessError) as e:
            return _error(11, f"{NAME}: cannot set the MAC address {mac}", getattr(e, "stderr", "") or str(e))
        result = with_mac(result, index, mac)
    print(json.dumps({**result, "cniVersion": config.get("cniVersion", SUPPORTED_VERSIONS[-1])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
