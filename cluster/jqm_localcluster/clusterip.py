"""Service virtual IPs without kube-proxy (its original userspace mode): every ClusterIP becomes an
address of the host's bridge (pods route the service range to the bridge), with a TCP listener per
Service port relaying each connection round-robin to the ready endpoints."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from typing import Any

from jqm_localcluster import layout, relay
from jqm_localcluster.catalog import Catalog
from jqm_localcluster.lb import CONNECT_ATTEMPTS, RoundRobin, ready_backends

log = logging.getLogger("clusterip")
Obj = dict[str, Any]
Endpoint = tuple[str, int]  # (cluster IP, service port)


def wanted_listeners(services: dict[str, Obj], slices_of: Any) -> dict[Endpoint, list[relay.Backend]]:
    """(cluster IP, port) -> ready backends, for every TCP port of every Service with a cluster IP."""
    wanted: dict[Endpoint, list[relay.Backend]] = {}
    for key, svc in services.items():
        spec = svc.get("spec", {})
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue
        slices = slices_of(key)
        for port in spec.get("ports", []):
            if port.get("protocol", "TCP") == "TCP":
                wanted[(ip, port["port"])] = ready_backends(slices, port.get("name"))
    return wanted


def _bridge_address(action: str, ip: str) -> None:
    subprocess.run(["ip", "addr", action, f"{ip}/32", "dev", layout.BRIDGE], check=False, capture_output=True)


class ClusterIps:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.listeners: dict[Endpoint, tuple[asyncio.Server, RoundRobin]] = {}
        self.addresses: set[str] = set()

    async def reconcile(self) -> None:
        wanted = wanted_listeners(self.catalog.services, self.catalog.slices_of)
        for endpoint in set(self.listeners) - set(wanted):
            self.listeners.pop(endpoint)[0].close()
        ips = {ip for ip, _ in wanted}
        for ip in self.addresses - ips:
            _bridge_address("del", ip)
        for ip in ips - self.addresses:
            _bridge_address("add", ip)
        self.addresses = ips
        for (ip, port), backends in wanted.items():
            if (ip, port) not in self.listeners:
                rr = RoundRobin()
                try:
                    server = await relay.serve(ip, port, rr.pick, attempts=CONNECT_ATTEMPTS)
                except OSError as exc:
                    log.warning("%s:%d: %s", ip, port, exc)
                    continue
                self.listeners[(ip, port)] = (server, rr)
            self.listeners[(ip, port)][1].backends = backends

    def close(self) -> None:
        for server, _ in self.listeners.values():
            server.close()
        self.listeners.clear()
        for ip in self.addresses:
            _bridge_address("del", ip)
        self.addresses.clear()
