"""Services and EndpointSlices of the whole cluster, kept current by watches (for LB and DNS)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from jqm_localcluster.api import Api

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def service_key(obj: Obj) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


class Catalog:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.services: dict[str, Obj] = {}  # "ns/name" -> Service
        self.slices: dict[str, Obj] = {}  # uid -> EndpointSlice
        self.changed = asyncio.Event()

    def slices_of(self, key: str) -> list[Obj]:
        """The EndpointSlices of the Service "ns/name"."""
        ns, name = key.split("/", 1)
        return [
            s
            for s in self.slices.values()
            if s["metadata"]["namespace"] == ns and s["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL) == name
        ]

    async def _watch(self, path: str, store: dict[str, Obj], key: Callable[[Obj], str]) -> None:
        async for kind, obj in self.api.watch(path):
            if kind == "SYNC":
                store.clear()
                store.update({key(o): o for o in obj["items"]})
            elif kind == "DELETED":
                store.pop(key(obj), None)
            else:
                store[key(obj)] = obj
            self.changed.set()

    async def run(self) -> None:
        await asyncio.gather(
            self._watch("/api/v1/services", self.services, service_key),
            self._watch("/apis/discovery.k8s.io/v1/endpointslices", self.slices, lambda o: o["metadata"]["uid"]),
        )
