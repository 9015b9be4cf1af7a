"""Load balancers for Services of type LoadBalancer: a TCP listener per Service port on a loopback
address of its own (127.0.0.100 + n), round-robin per connection over the ready EndpointSlice endpoints,
and the address published in status.loadBalancer.ingress, as MetalLB or a cloud LB would."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from jqm_localcluster import controlplane, layout, relay
from jqm_localcluster.api import Api, ApiError

log = logging.getLogger("lb")
Obj = dict[str, Any]
MAX_BALANCERS = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


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


class Controller:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.services: dict[str, Obj] = {}  # "ns/name" -> Service
        self.slices: dict[str, Obj] = {}  # uid -> EndpointSlice
        self.balancers: dict[str, Balancer] = {}  # "ns/name" -> Balancer
        self.changed = asyncio.Event()

    @staticmethod
    def _key(obj: Obj) -> str:
        return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"

    async def watch(self, path: str, store: dict[str, Obj], key: Any) -> None:
        async for kind, obj in self.api.watch(path):
            if kind == "SYNC":
                store.clear()
                store.update({key(o): o for o in obj["items"]})
            elif kind == "DELETED":
                store.pop(key(obj), None)
            else:
                store[key(obj)] = obj
            self.changed.set()

    def _slices_of(self, key: str) -> list[Obj]:
        ns, name = key.split("/", 1)
        return [
            s
            for s in self.slices.values()
            if s["metadata"]["namespace"] == ns and s["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL) == name
        ]

    async def reconcile(self) -> None:
        wanted = {
            k: s
            for k, s in self.services.items()
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
        slices = self._slices_of(key)
        for port, spec in ports.items():
            if port not in balancer.listeners:
                rr = RoundRobin()
                server = await relay.serve(balancer.ip, port, rr.pick)
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
            svc["status"] = (
                await self.api.merge_patch(f"/api/v1/namespaces/{ns}/services/{name}/status", {"status": status})
            )["status"]

    async def run(self) -> None:
        watches = [
            asyncio.create_task(self.watch("/api/v1/services", self.services, self._key)),
            asyncio.create_task(
                self.watch("/apis/discovery.k8s.io/v1/endpointslices", self.slices, lambda o: o["metadata"]["uid"])
            ),
        ]
        try:
            for _ in itertools.count():
                await self.changed.wait()
                self.changed.clear()
                await self.reconcile()
        finally:
            for w in watches:
                w.cancel()
            for b in self.balancers.values():
                b.close()


async def main(state: layout.StateDir) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ports = controlplane.load_ports(state)
    if ports is None:
        raise SystemExit("no control plane ports recorded: start the control plane first")
    api = Api(ports.server, state.pki, "admin")
    controller = asyncio.create_task(Controller(api).run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    controller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await controller
    await api.close()
