"""A small asyncio client for the Kubernetes API (aiohttp, client-certificate authentication)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


class Api:
    """JSON calls on API paths; `watch` yields events and resumes from the last resourceVersion."""

    def __init__(self, server: str, pki: Path, user: str) -> None:
        self.server = server.rstrip("/")
        self._ssl = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self._ssl.load_cert_chain(str(pki / f"{user}.crt"), str(pki / f"{user}.key"))
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self._ssl))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        url = self.server + path + ("?" + urlencode(params) if params else "")
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        timeout = aiohttp.ClientTimeout(total=30)
        async with self.session.request(method, url, data=data, headers=headers, timeout=timeout) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise ApiError(resp.status, text)
            return json.loads(text) if text else {}

    async def get(self, path: str, **params: Any) -> Obj:
        return await self.request("GET", path, params=params or None)

    async def create(self, path: str, body: Obj) -> Obj:
        return await self.request("POST", path, body)

    async def merge_patch(self, path: str, body: Obj) -> Obj:
        return await self.request("PATCH", path, body, content_type="application/merge-patch+json")

    async def delete(self, path: str, body: Obj | None = None) -> Obj:
        return await self.request("DELETE", path, body)

    async def watch(self, path: str, **params: Any) -> AsyncIterator[tuple[str, Obj]]:
        """List, then watch, forever: yields ("ADDED"|"MODIFIED"|"DELETED"|"SYNC", obj).

        "SYNC" carries {"items": [...]} after each (re)list so callers can drop what disappeared.
        """
        backoff = 0.5
        while True:
            try:
                listing = await self.get(path, **params)
                yield "SYNC", listing
                rv = listing["metadata"]["resourceVersion"]
                backoff = 0.5
                while True:  # each watch ends after timeoutSeconds: resume from the last version seen
                    async for kind, obj in self._watch_from(path, rv, params):
                        rv = obj.get("metadata", {}).get("resourceVersion", rv)
                        if kind != "BOOKMARK":
                            yield kind, obj
            except (aiohttp.ClientError, ApiError, TimeoutError, ValueError) as exc:
                log.warning("watch %s: %s; relisting", path, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _watch_from(self, path: str, rv: str, params: dict[str, str]) -> AsyncIterator[tuple[str, Obj]]:
        query = {**params, "watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "300"}
        url = f"{self.server}{path}?{urlencode(query)}"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=330)
        async with self.session.get(url, timeout=timeout) as resp:
            if resp.status >= 400:
                raise ApiError(resp.status, await resp.text())
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event["type"] == "ERROR":  # e.g. 410 Gone: relist
                    raise ApiError(event["object"].get("code", 500), json.dumps(event["object"]))
                yield event["type"], event["object"]
