"""The process kubelet's main loop: node heartbeats, the API relay for pods, and one worker per pod."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import aiohttp

from jqm_localcluster import controlplane, layout, procs, relay
from jqm_localcluster.api import Api, ApiError
from jqm_localcluster.kubelet import events, logs, network
from jqm_localcluster.kubelet.node import KUBELET_PORT, NodeRegistration, resources
from jqm_localcluster.kubelet.pod import NodeContext, PodWorker

log = logging.getLogger("kubelet")
HEARTBEAT_SECONDS = 10.0
STATUS_EVERY = 6  # heartbeats between node status posts
SHUTDOWN_GRACE = 20.0


class Kubelet:
    def __init__(self, ctx: NodeContext, node: NodeRegistration) -> None:
        self.ctx, self.node = ctx, node
        self.workers: dict[str, PodWorker] = {}
        self.finished: set[str] = set()  # uids whose deletion this kubelet completed

    def _on_pod(self, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        if uid in self.finished:
            return
        worker = self.workers.get(uid)
        if worker is None:
            worker = self.workers[uid] = PodWorker(self.ctx, pod)
            log.info("pod %s: starting", worker.key)
            worker.task.add_done_callback(lambda _t, uid=uid: self._done(uid))
        else:
            worker.update(pod)

    def container_dir(self, namespace: str, name: str, container: str) -> Path | None:
        for w in self.workers.values():
            if (w.namespace, w.name) == (namespace, name) and any(r.name == container for r in w.init + w.main):
                return w.dir / "containers" / container
        return None

    def _done(self, uid: str) -> None:
        worker = self.workers.pop(uid, None)
        if worker is not None:
            self.finished.add(uid)
            log.info("pod %s: finished", worker.key)

    async def watch_pods(self) -> None:
        path = "/api/v1/pods"
        async for kind, obj in self.ctx.api.watch(path, fieldSelector=f"spec.nodeName={layout.NODE_NAME}"):
            if kind == "SYNC":
                present = {p["metadata"]["uid"] for p in obj["items"]}
                for uid, worker in list(self.workers.items()):
                    if uid not in present:
                        worker.gone()
                for pod in obj["items"]:
                    self._on_pod(pod)
            elif kind == "DELETED":
                worker = self.workers.get(obj["metadata"]["uid"])
                if worker is not None:
                    worker.gone()
            else:
                self._on_pod(obj)

    async def heartbeat(self) -> None:
        beats = 0
        while True:
            try:
                await self.node.renew_lease()
                if beats % STATUS_EVERY == 0:
                    await self.node.post_status()
            except (ApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("heartbeat: %s", exc)
            beats += 1
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def shutdown(self) -> None:
        await asyncio.gather(*(w.shutdown(SHUTDOWN_GRACE) for w in list(self.workers.values())))


def remove_host_paths(paths: set[Path]) -> None:
    """Remove the mount points this kubelet created on the host, deepest first, if still empty."""
    for path in sorted(paths, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
            elif path.stat().st_size == 0:
                path.unlink()


async def main(state: layout.StateDir) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ports = controlplane.load_ports(state)
    if ports is None:
        raise SystemExit("no control plane ports recorded: start the control plane first")
    version = layout.read_versions()["K8S_VERSION"]
    # Leftovers of a kubelet that did not stop cleanly: its pods restart from scratch.
    procs.kill_cgroup(procs.cgroup_dir(state.cgroup, "pods"))
    for ns in network.netns_names():
        await network.teardown_pod(ns)
    network.ensure_bridge()
    api = Api(ports.server, state.pki, "kubelet")
    # Pods reach the API server at the bridge address: relay it to the loopback listener.
    relay_server = await relay.serve(layout.BRIDGE_IP, ports.apiserver, lambda: ("127.0.0.1", ports.apiserver))
    ctx = NodeContext(
        api=api,
        ipam=network.Ipam(),
        pods_dir=state.pods,
        host_ip=layout.BRIDGE_IP,
        api_host=layout.BRIDGE_IP,
        api_port=ports.apiserver,
        allocatable=resources(),
        host_paths=set(),
        cgroup=state.cgroup,
        events=events.Recorder(api),
    )
    node = NodeRegistration(api, layout.NODE_NAME, version)
    await node.register()
    kubelet = Kubelet(ctx, node)
    log_server = await logs.serve(logs.app(kubelet.container_dir), layout.BRIDGE_IP, KUBELET_PORT, state.pki)
    log.info("node %s registered; API relay on %s:%d", layout.NODE_NAME, layout.BRIDGE_IP, ports.apiserver)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(kubelet.heartbeat()), asyncio.create_task(kubelet.watch_pods())]
    await stop.wait()
    log.info("stopping: %d pods", len(kubelet.workers))
    for t in tasks:
        t.cancel()
    await kubelet.shutdown()
    remove_host_paths(ctx.host_paths)
    relay_server.close()
    await log_server.cleanup()
    await api.close()
