"""Load balancers for Services of type LoadBalancer, on loopback addresses: the project's own small
piece, in the role cloud-provider-kind or MetalLB play elsewhere.

For each such Service (without a ``loadBalancerClass``) it takes an address of 127.0.0.100-199 (the
one in ``spec.loadBalancerIP`` if free, else the one it had, else the lowest free), publishes it in
``status.loadBalancer.ingress`` with ``ipMode: Proxy`` (so kube-proxy does not capture the address
itself, as it does for VIP-mode balancers) and listens there on every TCP port of the Service. Each accepted
connection is forwarded, once, to the Service's cluster IP and port: kube-proxy then picks a ready
endpoint, exactly as for traffic a cloud load balancer sends to a node. There is no retry: when the
connection to the cluster IP fails (no ready endpoint: kube-proxy rejects it), the client's connection
is closed. Bytes are copied both ways until either side closes; one client connection is one backend
connection (keep-alive clients stay on one pod).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from jqm_localcluster import controlplane, layout
from jqm_localcluster.api import Api, ApiError

log = logging.getLogger("lb")
Obj = dict[str, Any]
CONNECT_TIMEOUT = 5.0


def pool() -> list[str]:
    base = ipaddress.ip_address(layout.LB_POOL_FIRST)
    return [str(base + n) for n in range(layout.LB_POOL_SIZE)]


def allocate_ip(requested: str | None, current: str | None, used: set[str]) -> str:
    """The requested address if it is in the pool and free, else the current one if so, else the lowest free."""
    addresses = pool()
    for wanted in (requested, current):
        if wanted in addresses and wanted not in used:
            return wanted
    for ip in addresses:
        if ip not in used:
            return ip
    raise RuntimeError("no free load-balancer address")


def is_ours(service: Obj) -> bool:
    spec = service.get("spec", {})
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass") and bool(spec.get("clusterIP"))


def tcp_ports(service: Obj) -> list[int]:
    return sorted({p["port"] for p in service["spec"].get("ports", []) if p.get("protocol", "TCP") == "TCP"})


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Copy until end of stream or a reset; returns the bytes copied."""
    copied = 0
    try:
        while data := await reader.read(65536):
            writer.write(data)
            copied += len(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
    return copied


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@dataclass
class Listener:
    """One TCP port of one balancer; ``target`` (cluster IP, port) is read per connection."""

    target: tuple[str, int]
    server: asyncio.Server | None = None
    # The event loop holds tasks weakly: a connection's task must not be collected while it waits.
    active: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.active.add(task)
            task.add_done_callback(self.active.discard)
        try:
            up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*self.target), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            log.warning("%s:%d: %s; closing the client's connection", *self.target, exc)
            await _close(client_w)
            return
        try:
            sent, answered = await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
            if sent and not answered:
                log.warning("%s:%d: the backend closed without answering %d bytes", *self.target, sent)
        finally:
            await _close(up_w)
            await _close(client_w)


@dataclass
class Balancer:
    ip: str
    listeners: dict[int, Listener] = field(default_factory=dict)

    def close(self) -> None:
        for listener in self.listeners.values():
            if listener.server is not None:
                listener.server.close()
        self.listeners.clear()


class LoadBalancers:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.balancers: dict[str, Balancer] = {}  # "ns/name" -> Balancer

    async def reconcile(self, services: dict[str, Obj]) -> None:
        wanted = {key: svc for key, svc in services.items() if is_ours(svc)}
        for key in set(self.balancers) - set(wanted):
            self.balancers.pop(key).close()
            log.info("%s: load balancer removed", key)
        for key, svc in sorted(wanted.items()):
            try:
                await self._reconcile_one(key, svc)
            except (OSError, ApiError, RuntimeError) as exc:
                log.warning("%s: %s", key, exc)

    async def _reconcile_one(self, key: str, svc: Obj) -> None:
        balancer = self.balancers.get(key)
        requested = svc["spec"].get("loadBalancerIP") or None
        if balancer is not None and requested not in (None, balancer.ip):
            self.balancers.pop(key).close()
            balancer = None
        if balancer is None:
            ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}]
            used = {b.ip for b in self.balancers.values()}
            balancer = self.balancers[key] = Balancer(allocate_ip(requested, ingress[0].get("ip"), used))
        cluster_ip = svc["spec"]["clusterIP"]
        ports = tcp_ports(svc)
        for port in set(balancer.listeners) - set(ports):
            closing = balancer.listeners.pop(port)
            if closing.server is not None:
                closing.server.close()
        for port in ports:
            listener = balancer.listeners.get(port)
            if listener is None:
                listener = balancer.listeners[port] = Listener((cluster_ip, port))
                listener.server = await asyncio.start_server(listener.handle, balancer.ip, port, reuse_address=True)
                log.info("%s: %s:%d -> %s:%d", key, balancer.ip, port, cluster_ip, port)
            listener.target = (cluster_ip, port)
        current = svc.get("status", {}).get("loadBalancer", {}).get("ingress")
        if current != [{"ip": balancer.ip, "ipMode": "Proxy"}]:
            ns, name = key.split("/", 1)
            status = {"loadBalancer": {"ingress": [{"ip": balancer.ip, "ipMode": "Proxy"}]}}
            await self.api.merge_patch(f"/api/v1/namespaces/{ns}/services/{name}/status", {"status": status})

    def close(self) -> None:
        for balancer in self.balancers.values():
            balancer.close()
        self.balancers.clear()


def _key(obj: Obj) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


async def run(api: Api, balancers: LoadBalancers) -> None:
    """Watch every Service; reconcile after each change."""
    services: dict[str, Obj] = {}
    async for kind, obj in api.watch("/api/v1/services"):
        if kind == "SYNC":
            services = {_key(o): o for o in obj["items"]}
        elif kind == "DELETED":
            services.pop(_key(obj), None)
        else:
            services[_key(obj)] = obj
        await balancers.reconcile(services)


async def main(state: layout.StateDir) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ports = controlplane.load_ports(state)
    if ports is None:
        raise SystemExit("no control plane ports recorded: start the control plane first")
    api = Api(ports.server, state.pki, "admin")
    balancers = LoadBalancers(api)
    task = asyncio.create_task(run(api, balancers))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    balancers.close()
    await api.close()
