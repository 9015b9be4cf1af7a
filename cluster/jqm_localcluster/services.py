"""The services daemon: cluster IPs, load balancers and cluster DNS, all fed by one watch of Services
and EndpointSlices (it runs with the admin identity: a node may not read EndpointSlices)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from jqm_localcluster import controlplane, dns, layout
from jqm_localcluster.api import Api
from jqm_localcluster.catalog import Catalog
from jqm_localcluster.clusterip import ClusterIps
from jqm_localcluster.lb import LoadBalancers

log = logging.getLogger("services")


async def _reconcile_forever(catalog: Catalog, cluster_ips: ClusterIps, balancers: LoadBalancers) -> None:
    while True:
        await catalog.changed.wait()
        catalog.changed.clear()
        await cluster_ips.reconcile()
        await balancers.reconcile()


async def main(state: layout.StateDir) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ports = controlplane.load_ports(state)
    if ports is None:
        raise SystemExit("no control plane ports recorded: start the control plane first")
    api = Api(ports.server, state.pki, "admin")
    catalog = Catalog(api)
    balancers = LoadBalancers(api, catalog)
    cluster_ips = ClusterIps(catalog)
    dns_server = await dns.serve(layout.BRIDGE_IP, lambda name: dns.resolve(name, catalog.services, catalog.slices_of))
    log.info("cluster DNS on %s:53", layout.BRIDGE_IP)
    tasks = [
        asyncio.create_task(catalog.run()),
        asyncio.create_task(_reconcile_forever(catalog, cluster_ips, balancers)),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for t in tasks:
        t.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)
    balancers.close()
    cluster_ips.close()
    dns_server.close()
    await api.close()
