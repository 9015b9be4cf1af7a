"""Container probes (httpGet, tcpSocket, exec) and their success/failure thresholds."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def resolve_port(port: int | str, container: Obj) -> int:
    """A probe port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports", []):
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"container {container['name']} has no port named {port!r}")


async def check(probe: Obj, container: Obj, pod_ip: str, pid: int) -> bool:
    """One probe attempt; True on success."""
    timeout = probe.get("timeoutSeconds", 1)
    try:
        if "httpGet" in probe:
            h = probe["httpGet"]
            scheme = h.get("scheme", "HTTP").lower()
            url = f"{scheme}://{h.get('host') or pod_ip}:{resolve_port(h['port'], container)}{h.get('path', '/')}"
            headers = {x["name"]: x["value"] for x in h.get("httpHeaders", [])}
            client_timeout = aiohttp.ClientTimeout(total=timeout)
            async with (
                aiohttp.ClientSession(timeout=client_timeout) as session,
                session.get(url, headers=headers, ssl=False, allow_redirects=False) as resp,
            ):
                return 200 <= resp.status < 400
        if "tcpSocket" in probe:
            t = probe["tcpSocket"]
            port = resolve_port(t["port"], container)
            _, writer = await asyncio.wait_for(asyncio.open_connection(t.get("host") or pod_ip, port), timeout)
            writer.close()
            return True
        if "exec" in probe:
            proc = await asyncio.create_subprocess_exec(
                "nsenter",
                "-t",
                str(pid),
                "-n",
                "-m",
                "-u",
                "--",
                *probe["exec"]["command"],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                return await asyncio.wait_for(proc.wait(), timeout) == 0
            except TimeoutError:
                proc.kill()
                await proc.wait()
                return False
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        log.debug("probe failed: %s", exc)
        return False
    log.warning("unsupported probe %s: treated as failing", sorted(probe))
    return False


@dataclass
class Thresholds:
    """Counts consecutive results; `result` flips after successThreshold/failureThreshold in a row."""

    success_threshold: int = 1
    failure_threshold: int = 3
    successes: int = 0
    failures: int = 0

    @classmethod
    def of(cls, probe: Obj) -> Thresholds:
        return cls(probe.get("successThreshold", 1), probe.get("failureThreshold", 3))

    def record(self, ok: bool) -> bool | None:
        """True when now passing, False when now failing, None while undecided."""
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            return True if self.successes >= self.success_threshold else None
        self.successes, self.failures = 0, self.failures + 1
        return False if self.failures >= self.failure_threshold else None
