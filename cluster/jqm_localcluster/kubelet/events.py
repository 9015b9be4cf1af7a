"""Pod events, as the kubelet records them (Started, Killing, BackOff, Unhealthy, Failed)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from jqm_localcluster import layout
from jqm_localcluster.api import Api, ApiError
from jqm_localcluster.kubelet.status import now

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def event(pod: Obj, container: str, reason: str, message: str, warning: bool = False) -> Obj:
    meta = pod["metadata"]
    stamp = now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "fieldPath": f"spec.containers{{{container}}}",
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": {"component": "kubelet", "host": layout.NODE_NAME},
        "reportingComponent": "kubelet",
        "reportingInstance": layout.NODE_NAME,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class Recorder:
    """Posts events in the background; a lost event is only logged."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, pod: Obj, container: str, reason: str, message: str, warning: bool = False) -> None:
        task = asyncio.create_task(self._post(event(pod, container, reason, message, warning)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, body: Obj) -> None:
        try:
            await self.api.create(f"/api/v1/namespaces/{body['metadata']['namespace']}/events", body)
        except (ApiError, OSError, TimeoutError) as exc:
            log.debug("event %s not recorded: %s", body["reason"], exc)
