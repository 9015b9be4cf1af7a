"""One pod's life on this node: network, volumes, init containers, containers, probes, restarts,
status reports, graceful termination and the final deletion of the pod object."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jqm_localcluster import procs
from jqm_localcluster.api import Api, ApiError
from jqm_localcluster.kubelet import images, network, probes, volumes
from jqm_localcluster.kubelet.env import MissingReference, container_env, expand, referenced_objects, service_env
from jqm_localcluster.kubelet.events import Recorder
from jqm_localcluster.kubelet.process import Process, ProcessSpec
from jqm_localcluster.kubelet.status import ContainerRecord, now, pod_status

log = logging.getLogger(__name__)
Obj = dict[str, Any]

BACKOFF_START, BACKOFF_MAX, BACKOFF_RESET = 10.0, 300.0, 600.0
CONFIG_RETRY_START, CONFIG_RETRY_MAX = 1.0, 60.0  # missing ConfigMap/Secret, unknown image
REFRESH_SECONDS = 30.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class NodeContext:
    """What every pod worker shares."""

    api: Api
    ipam: network.Ipam
    pods_dir: Path
    host_ip: str
    api_host: str
    api_port: int
    allocatable: dict[str, str]
    host_paths: set[Path]  # mount points created on the host, removed when the kubelet stops
    cgroup: str  # the cluster's cgroup group (procs.cgroup_dir)
    events: Recorder


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid, self.namespace, self.name = meta["uid"], meta["namespace"], meta["name"]
        self.dir = ctx.pods_dir / f"{self.namespace}_{self.name}_{self.uid}"
        self.netns = network.netns_name(self.uid)
        self.ip: str | None = None
        self.network_ready = False
        self.start_time = pod.get("status", {}).get("startTime") or now()
        self.removed = False  # the pod object is gone from the API
        self.terminating = asyncio.Event()
        self.changed = asyncio.Event()
        old = {s["name"]: s for s in pod.get("status", {}).get("containerStatuses", [])}
        spec = pod["spec"]
        self.init = [ContainerRecord(c["name"], c["image"]) for c in spec.get("initContainers", [])]
        self.main = [ContainerRecord.resumed(c["name"], c["image"], old.get(c["name"])) for c in spec["containers"]]
        self.processes: dict[str, Process] = {}
        self.lookups: dict[tuple[str, str], dict[str, str]] = {}
        self.tokens: dict[tuple[str | None, int], str] = {}
        self.tokens_expire = 0.0
        self._max_grace: float | None = None
        self.task = asyncio.create_task(self.run(), name=f"pod {self.namespace}/{self.name}")

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def update(self, pod: Obj) -> None:
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.terminating.set()

    def gone(self) -> None:
        self.removed = True
        self.terminating.set()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def run(self) -> None:
        reporter = asyncio.create_task(self._report_loop())
        try:
            if self.pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                await self.terminating.wait()
            else:
                self.update(self.pod)
                await self._run_pod()
        except Exception:
            log.exception("pod %s failed in the kubelet", self.key)
            raise
        finally:
            await self._stop_all(self._grace())
            await self._teardown()
            self.changed.set()
            await asyncio.sleep(0)
            reporter.cancel()
            if not self.removed:
                await self._report()
                if self.pod["metadata"].get("deletionTimestamp"):
                    await self._finish_deletion()

    async def shutdown(self, max_grace: float) -> None:
        """Node shutdown: stop the containers (the pod object stays: it restarts with the node)."""
        self.removed = True
        self._max_grace = max_grace
        self.terminating.set()
        with contextlib.suppress(Exception):
            await self.task

    def _grace(self) -> float:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", 30))
        return min(grace, self._max_grace) if self._max_grace is not None else grace

    async def _run_pod(self) -> None:
        if not await self._until_ok(self._prepare):
            return
        for container, record in zip(self.pod["spec"].get("initContainers", []), self.init, strict=True):
            await self._supervise(container, record, init=True)
            if not (record.done and record.exit_code == 0):
                return  # terminating, or failed for good (restartPolicy Never)
        self.changed.set()
        tasks = [
            asyncio.create_task(self._supervise(c, r))
            for c, r in zip(self.pod["spec"]["containers"], self.main, strict=True)
        ]
        refresher = asyncio.create_task(self._refresh_loop())
        try:
            await asyncio.gather(*tasks)
            await self.terminating.wait()  # finished pods stay until deleted
        finally:
            refresher.cancel()
            for t in tasks:
                t.cancel()

    async def _until_ok(self, step: Any) -> bool:
        """Retry a setup step until it works or the pod is terminating."""
        delay = 0.5
        while not self.terminating.is_set():
            try:
                await step()
                return True
            except (MissingReference, ApiError, OSError, RuntimeError) as exc:
                log.warning("pod %s: %s; retrying", self.key, exc)
                for r in self.init + self.main:
                    if not r.container_id:
                        r.waiting("ContainerCreating", str(exc))
                self.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.terminating.wait(), delay)
            delay = min(delay * 2, 10.0)
        return False

    async def _prepare(self) -> None:
        if self.ip is None:
            self.ip = self.ctx.ipam.allocate()
            await network.setup_pod(self.netns, self.ip, self.name[:63], self.namespace)
        self.network_ready = True
        self.changed.set()
        await self._write_volumes(force_tokens=True)

    # -- volumes ---------------------------------------------------------------------------------------

    async def _fetch_lookups(self) -> None:
        found: dict[tuple[str, str], dict[str, str]] = {}
        for kind, name in referenced_objects(self.pod):
            plural = "configmaps" if kind == "ConfigMap" else "secrets"
            try:
                obj = await self.ctx.api.get(f"/api/v1/namespaces/{self.namespace}/{plural}/{name}")
            except ApiError as exc:
                if exc.status in (403, 404):  # 403: the node authorizer has not seen the pod yet
                    continue
                raise
            data = dict(obj.get("data") or {})
            if kind == "Secret":
                data = {k: _b64text(v) for k, v in data.items()}
            data.update({k: _b64text(v) for k, v in (obj.get("binaryData") or {}).items()})
            found[(kind, name)] = data
        self.lookups = found

    async def _fetch_tokens(self) -> None:
        sa = self.pod["spec"].get("serviceAccountName", "default")
        tokens, expiry = {}, float("inf")
        for audience, seconds in volumes.token_sources(self.pod):
            body = {
                "spec": {
                    "audiences": [audience] if audience else None,
                    "expirationSeconds": seconds,
                    "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": self.name, "uid": self.uid},
                }
            }
            path = f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{sa}/token"
            tokens[(audience, seconds)] = (await self.ctx.api.create(path, body))["status"]["token"]
            expiry = min(expiry, time.monotonic() + 0.8 * seconds)
        self.tokens, self.tokens_expire = tokens, expiry

    def _pod_view(self) -> Obj:
        """The pod with the addresses this kubelet gave it (the API copy may not show them yet)."""
        status = {**self.pod.get("status", {}), "hostIP": self.ctx.host_ip, "hostIPs": [{"ip": self.ctx.host_ip}]}
        if self.ip:
            status.update(podIP=self.ip, podIPs=[{"ip": self.ip}])
        return {**self.pod, "status": status}

    def volume_dir(self, name: str) -> Path:
        return self.dir / "volumes" / name

    async def _write_volumes(self, force_tokens: bool = False) -> None:
        await self._fetch_lookups()
        if force_tokens or time.monotonic() > self.tokens_expire:
            await self._fetch_tokens()
        for volume in self.pod["spec"].get("volumes", []):
            target = self.volume_dir(volume["name"])
            if "hostPath" in volume:
                continue
            files = volumes.volume_files(volume, self._pod_view(), self.lookups, self.tokens, self.ctx.allocatable)
            if files is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                volumes.write_atomically(target, files)

    async def _refresh_loop(self) -> None:
        """ConfigMap/Secret updates and token rotation reach mounted volumes, like the kubelet's sync."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self._write_volumes()
            except (MissingReference, ApiError, OSError) as exc:
                log.warning("pod %s: volume refresh: %s", self.key, exc)

    # -- containers ------------------------------------------------------------------------------------

    def _process_spec(self, container: Obj) -> ProcessSpec:
        cfg = images.image_config(container["image"])
        base = {
            "PATH": PATH,
            "HOSTNAME": self.name,
            "HOME": "/root",
            **dict(cfg.env),
            **service_env(self.ctx.api_host, self.ctx.api_port),
        }
        env = container_env(self._pod_view(), container, base, self.lookups, self.ctx.allocatable)
        raw = images.container_argv(container.get("command"), container.get("args"), cfg)
        argv = images.localize([expand(a, env) for a in raw])
        vol_dirs = {
            v["name"]: Path(v["hostPath"]["path"]) if "hostPath" in v else self.volume_dir(v["name"])
            for v in self.pod["spec"].get("volumes", [])
        }
        tmp = self.dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o1777)
        mounts = volumes.container_mounts(container, vol_dirs, tmp)
        work = self._work_dir(container["name"])
        work.mkdir(parents=True, exist_ok=True)
        cwd, work_mount = volumes.working_dir(container.get("workingDir") or cfg.workdir, work, mounts)
        if work_mount is not None:
            mounts = volumes.ordered([*mounts, work_mount])
        self._create_mount_points(mounts)
        return ProcessSpec(argv=argv, env=env, cwd=cwd, hostname=self.name[:63], mounts=mounts)

    def _work_dir(self, name: str) -> Path:
        return self.dir / "containers" / name / "work"

    def _create_mount_points(self, mounts: list[volumes.Mount]) -> None:
        """Create missing mount points on the host (recorded, removed at kubelet stop); mount points
        inside another mount are created by the shim, in the pod's mount namespace."""
        for m in mounts:
            target = Path(m.target)
            if any(target.is_relative_to(o.target) for o in mounts if o is not m) or target.exists():
                continue
            missing = [p for p in (target, *target.parents) if not p.exists()]
            if Path(m.source).is_dir():
                target.mkdir(parents=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            self.ctx.host_paths.update(missing)

    async def _supervise(self, container: Obj, record: ContainerRecord, init: bool = False) -> None:
        """Run one container until it is done for good or the pod terminates, restarting per policy."""
        policy = self.pod["spec"].get("restartPolicy", "Always")
        if init and policy == "Always":
            policy = "OnFailure"  # init containers are never restarted after success
        backoff, config_retry = BACKOFF_START, CONFIG_RETRY_START
        while not self.terminating.is_set():
            try:
                spec = self._process_spec(container)
            except (MissingReference, images.UnknownImage, ValueError) as exc:
                reason = "ErrImageNeverPull" if isinstance(exc, images.UnknownImage) else "CreateContainerConfigError"
                record.waiting(reason, str(exc))
                self.ctx.events.record(self.pod, container["name"], "Failed", f"{reason}: {exc}", warning=True)
                self.changed.set()
                if await self._wait_terminating(config_retry):
                    return
                config_retry = min(config_retry * 2, CONFIG_RETRY_MAX)
                continue
            run_dir = self.dir / "containers" / container["name"] / str(record.restart_count)
            cgroup = procs.cgroup_dir(self.ctx.cgroup, "pods", self.uid, container["name"])
            proc = await Process.start(spec, self.netns, run_dir, cgroup)
            self.processes[container["name"]] = proc
            record.running(f"jqm://{self.uid}/{container['name']}/{record.restart_count}")
            self.ctx.events.record(self.pod, container["name"], "Started", f"Started container {container['name']}")
            self.changed.set()
            started_at = time.monotonic()
            probers = [] if init else [asyncio.create_task(self._probe_loop(container, record, proc))]
            exit_wait = asyncio.create_task(proc.wait())
            term_wait = asyncio.create_task(self.terminating.wait())
            await asyncio.wait({exit_wait, term_wait}, return_when=asyncio.FIRST_COMPLETED)
            term_wait.cancel()
            for p in probers:
                p.cancel()
            if not exit_wait.done():
                return  # terminating: _stop_all stops the process and records its end
            record.terminated(exit_wait.result())
            del self.processes[container["name"]]
            exit_code = exit_wait.result()
            if policy == "Never" or (policy == "OnFailure" and exit_code == 0):
                record.done = True
                self.changed.set()
                return
            if time.monotonic() - started_at > BACKOFF_RESET:
                backoff = BACKOFF_START
            record.restart_count += 1
            record.waiting("CrashLoopBackOff", f"back-off {backoff:.0f}s restarting failed container")
            self.ctx.events.record(
                self.pod, container["name"], "BackOff", f"Back-off {backoff:.0f}s restarting failed container", True
            )
            self.changed.set()
            log.info(
                "pod %s: container %s exited %d; restart in %.0f s", self.key, container["name"], exit_code, backoff
            )
            if await self._wait_terminating(backoff):
                return
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _wait_terminating(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.terminating.wait(), seconds)
        return self.terminating.is_set()

    async def _probe_loop(self, container: Obj, record: ContainerRecord, proc: Process) -> None:
        """startupProbe first; then readiness sets `ready`, liveness failure kills the process."""
        assert self.ip is not None
        startup, readiness, liveness = (container.get(k) for k in ("startupProbe", "readinessProbe", "livenessProbe"))
        if startup and not await self._startup(startup, container, proc):
            log.info("pod %s: container %s failed its startup probe; killing", self.key, container["name"])
            self.ctx.events.record(self.pod, container["name"], "Unhealthy", "Startup probe failed", warning=True)
            await proc.stop(self._grace())
            return
        record.started = True
        record.ready = readiness is None
        self.changed.set()
        loops = []
        if readiness:
            loops.append(self._probe_forever(readiness, container, proc, record, "readiness"))
        if liveness:
            loops.append(self._probe_forever(liveness, container, proc, record, "liveness"))
        await asyncio.gather(*loops)

    async def _startup(self, probe: Obj, container: Obj, proc: Process) -> bool:
        """Probe until the startup probe passes (True) or fails for good (False)."""
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        counter = probes.Thresholds.of(probe)
        while True:
            result = counter.record(await probes.check(probe, container, self.ip or "", proc.pid))
            if result is not None:
                return result
            await asyncio.sleep(probe.get("periodSeconds", 10))

    async def _probe_forever(
        self, probe: Obj, container: Obj, proc: Process, record: ContainerRecord, kind: str
    ) -> None:
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        counter = probes.Thresholds.of(probe)
        while True:
            result = counter.record(await probes.check(probe, container, self.ip or "", proc.pid))
            if result is False and (kind == "liveness" or record.ready):
                self.ctx.events.record(
                    self.pod, container["name"], "Unhealthy", f"{kind.capitalize()} probe failed", True
                )
            if kind == "readiness" and result is not None and result != record.ready:
                record.ready = result
                self.changed.set()
            elif kind == "liveness" and result is False:
                log.info("pod %s: container %s failed liveness; killing", self.key, container["name"])
                grace = probe.get("terminationGracePeriodSeconds", self._grace())
                await proc.stop(grace)
                return
            await asyncio.sleep(probe.get("periodSeconds", 10))

    async def _stop_all(self, grace: float) -> None:
        """SIGTERM every running container, SIGKILL after the grace period (all in parallel)."""
        running = list(self.processes.items())
        for name, _ in running:
            self.ctx.events.record(self.pod, name, "Killing", f"Stopping container {name}")
        codes = await asyncio.gather(*(p.stop(grace) for _, p in running))
        records = {r.name: r for r in self.init + self.main}
        for (name, _), code in zip(running, codes, strict=True):
            records[name].terminated(code)
            records[name].done = True
        self.processes.clear()

    async def _teardown(self) -> None:
        if self.ip is not None:
            with contextlib.suppress(RuntimeError):
                await network.teardown_pod(self.netns)
            self.ctx.ipam.release(self.ip)
        self.network_ready = False
        procs.kill_cgroup(procs.cgroup_dir(self.ctx.cgroup, "pods", self.uid))
        if self.pod["metadata"].get("deletionTimestamp") or self.removed:
            shutil.rmtree(self.dir / "volumes", ignore_errors=True)

    async def _finish_deletion(self) -> None:
        """Like the kubelet: once the containers are gone, delete the object for good (uid precondition)."""
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
        with contextlib.suppress(ApiError):
            await self.ctx.api.delete(f"/api/v1/namespaces/{self.namespace}/pods/{self.name}", body)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- status ----------------------------------------------------------------------------------------

    def status(self) -> Obj:
        return pod_status(
            self.pod.get("status", {}),
            host_ip=self.ctx.host_ip,
            pod_ip=self.ip,
            start_time=self.start_time,
            network_ready=self.network_ready,
            init=self.init,
            main=self.main,
        )

    async def _report(self) -> None:
        try:
            pod = await self.ctx.api.merge_patch(
                f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/status", {"status": self.status()}
            )
            self.pod["status"] = pod.get("status", {})
        except ApiError as exc:
            if exc.status != 404:
                log.warning("pod %s: status update: %s", self.key, exc)

    async def _report_loop(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            if not self.removed:
                await self._report()
            await asyncio.sleep(0.1)


def _b64text(value: str) -> str:
    return base64.b64decode(value).decode("utf-8", "surrogateescape")
