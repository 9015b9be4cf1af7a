"""Load balancers for Services of type LoadBalancer: a TCP listener per Service port on a loopback
address of its own (127.0.0.100 + n), round-robin per connection over the ready EndpointSlice endpoints,
and the address published in status.loadBalancer.ingress, as MetalLB or a cloud LB would."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

from jqm_localcluster import layout, relay
from jqm_localcluster.api import Api, ApiError
from jqm_localcluster.catalog import Catalog

log = logging.getLogger("lb")
Obj = dict[str, Any]
MAX_BALANCERS = 100
CONNECT_ATTEMPTS = 3  # backends tried per client connection (one that just died is skipped)


def ready_backends(slices: list[Obj], port_name: str | None) -> list[relay.Backend]:
    """The (address, port) of every ready, non-terminating endpoint for the Service port `port_name`.
    An endpoint whose `ready` is unset counts as ready (the EndpointSlice API's rule)."""
    backends = []
    for s in slices:
        if s.get("addressType") != "IPv4":
            continue
        ports = [p["port"] for p in s.get("ports") or [] if (p.get("name") or "") == (port_name or "")]
        if not ports:
            continue
        for ep in s.get("endpoints") or []:
            cond = ep.get("conditions", {})
            if cond.get("ready") is False or cond.get("terminating"):
                continue
            backends.append((ep["addresses"][0], ports[0]))
    return sorted(set(backends))


@dataclass
class RoundRobin:
    backends: list[relay.Backend] = field(default_factory=list)
    _next: int = 0

    def pick(self) -> relay.Backend | None:
        if not self.backends:
            return None
        backend = self.backends[self._next % len(self.backends)]
        self._next += 1
        return backend


def allocate_ip(wanted: str | None, used: set[str]) -> str:
    """The Service's current address if it is ours and free, else the lowest free one."""
    base = ipaddress.ip_address(layout.LB_BASE_IP)
    pool = [str(base + n) for n in range(MAX_BALANCERS)]
    if wanted in pool and wanted not in used:
        return wanted
    for ip in pool:
        if ip not in used:
            return ip
    raise RuntimeError("no free load-balancer address")


@dataclass
class Balancer:
    ip: str
    listeners: dict[int, tuple[asyncio.Server, RoundRobin]] = field(default_factory=dict)

    def close(self) -> None:
        for server, _ in self.listeners.values():
            server.close()
        self.listeners.clear()


class LoadBalancers:
    """Keeps one Balancer per LoadBalancer Service of the catalog (no loadBalancerClass: they are ours)."""

    def __init__(self, api: Api, catalog: Catalog) -> None:
        self.api = api
        self.catalog = catalog
        self.balancers: dict[str, Balancer] = {}  # "ns/name" -> Balancer

    async def reconcile(self) -> None:
        wanted = {
            k: s
            for k, s in self.catalog.services.items()
            if s.get("spec", {}).get("type") == "LoadBalancer" and not s["spec"].get("loadBalancerClass")
        }
        for key in set(self.balancers) - set(wanted):
            self.balancers.pop(key).close()
            log.info("%s: load balancer removed", key)
        for key, svc in wanted.items():
            try:
                await self._reconcile_one(key, svc)
            except (OSError, ApiError, RuntimeError) as exc:
                log.warning("%s: %s", key, exc)

    async def _reconcile_one(self, key: str, svc: Obj) -> None:
        balancer = self.balancers.get(key)
        if balancer is None:
            ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}]
            used = {b.ip for b in self.balancers.values()}
            balancer = self.balancers[key] = Balancer(allocate_ip(ingress[0].get("ip"), used))
        ports = {p["port"]: p for p in svc["spec"].get("ports", []) if p.get("protocol", "TCP") == "TCP"}
        for port in set(balancer.listeners) - set(ports):
            balancer.listeners.pop(port)[0].close()
        slices = self.catalog.slices_of(key)
        for port, spec in ports.items():
            if port not in balancer.listeners:
                rr = RoundRobin()
                server = await relay.serve(balancer.ip, port, rr.pick, attempts=CONNECT_ATTEMPTS)
                balancer.listeners[port] = (server, rr)
                log.info("%s: listening on %s:%d", key, balancer.ip, port)
            rr = balancer.listeners[port][1]
            backends = ready_backends(slices, spec.get("name"))
            if backends != rr.backends:
                rr.backends = backends
                log.info("%s:%d -> %s", key, port, ", ".join(f"{a}:{p}" for a, p in backends) or "no backends")
        current = svc.get("status", {}).get("loadBalancer", {}).get("ingress")
        if current != [{"ip": balancer.ip, "ipMode": "VIP"}] and current != [{"ip": balancer.ip}]:
            ns, name = key.split("/", 1)
            status = {"loadBalancer": {"ingress": [{"ip": balancer.ip, "ipMode": "VIP"}]}}
            path = f"/api/v1/namespaces/{ns}/services/{name}/status"
            svc["status"] = (await self.api.merge_patch(path, {"status": status}))["status"]

    def close(self) -> None:
        for b in self.balancers.values():
            b.close()
        self.balancers.clear()
