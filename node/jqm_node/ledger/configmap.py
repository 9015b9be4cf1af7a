"""The ledger as a Kubernetes ConfigMap (``JQM_ID_LEDGER=configmap:NAMESPACE/NAME``).

The operator creates the ConfigMap (without ``data``) and lets the nodes' service account ``get``
and ``update`` it. A node reads it with ``GET``, changes its own entries and writes the whole object
back with ``PUT``, carrying the ``resourceVersion`` it read: if another node wrote in between, the
API server answers 409 Conflict and the node starts over from a fresh read (optimistic concurrency).
In a pod the API server is ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, trusted
through the mounted service account CA, with the mounted token (read again for every request: the
kubelet rotates it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from jqm_node.ledger.document import LedgerDocument, LedgerError

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
REQUEST_TIMEOUT = 5.0
MAX_ATTEMPTS = 20
FIELD_MANAGER = "jqm-node"


class ConfigMapLedger:
    def __init__(
        self,
        *,
        namespace: str,
        name: str,
        api_url: str,
        token_file: Path,
        ca_file: Path | None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.description = f"configmap:{namespace}/{name}"
        self._url = f"{api_url.rstrip('/')}/api/v1/namespaces/{namespace}/configmaps/{name}"
        self._token_file = token_file
        self._ca_file = ca_file
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.conflicts = 0

    @classmethod
    def in_pod(cls, namespace: str, name: str) -> ConfigMapLedger:
        """The ledger reached as a pod reaches its API server; LedgerError outside a pod."""
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise LedgerError(
                f"configmap:{namespace}/{name}: KUBERNETES_SERVICE_HOST is not set; "
                "a ConfigMap ledger works in a pod only"
            )
        host = f"[{host}]" if ":" in host else host
        return cls(
            namespace=namespace,
            name=name,
            api_url=f"https://{host}:{port}",
            token_file=SERVICE_ACCOUNT / "token",
            ca_file=SERVICE_ACCOUNT / "ca.crt",
        )

    async def read(self) -> LedgerDocument:
        return LedgerDocument((await self._get()).get("data") or {})

    async def update(self, change: Callable[[LedgerDocument], T]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            current = await self._get()
            data: dict[str, Any] = dict(current.get("data") or {})
            document = LedgerDocument(data)
            result = change(document)
            if not document.changed:
                return result
            for ip in document.changed:
                data[ip] = document.encoded(ip)
            if await self._put({**current, "data": data}):
                return result
            self.conflicts += 1
            await asyncio.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise LedgerError(f"the ID ledger {self.description}: still conflicting after {MAX_ATTEMPTS} attempts")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------------------ HTTP

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            context: ssl.SSLContext | bool = True
            if self._ca_file is not None:
                context = ssl.create_default_context(cafile=str(self._ca_file))
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(ssl=context, limit=4)
            )
        return self._session

    def _headers(self) -> dict[str, str]:
        try:
            token = self._token_file.read_text().strip()
        except OSError as e:
            raise LedgerError(f"the ID ledger {self.description}: cannot read the service account token: {e}") from None
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def _get(self) -> dict[str, Any]:
        status, body = await self._call("GET", None)
        if status != 200:
            raise self._refusal("read", status, body)
        try:
            document = json.loads(body)
        except ValueError:
            raise LedgerError(f"the ID ledger {self.description}: the API server answered no JSON") from None
        if not isinstance(document, dict):
            raise LedgerError(f"the ID ledger {self.description}: the API server answered no object")
        return document

    async def _put(self, document: dict[str, Any]) -> bool:
        """True when written, False on a conflict (someone wrote since our read)."""
        status, body = await self._call("PUT", json.dumps(document, separators=(",", ":")).encode())
        if status == 409:
            return False
        if status != 200:
            raise self._refusal("written", status, body)
        return True

    async def _call(self, method: str, body: bytes | None) -> tuple[int, str]:
        headers = self._headers()
        params = {"fieldManager": FIELD_MANAGER} if method == "PUT" else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._client().request(method, self._url, data=body, headers=headers, params=params) as r:
                return r.status, await r.text()
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as e:
            reason = str(e) or type(e).__name__
            raise LedgerError(f"the ID ledger {self.description} cannot be reached: {reason}") from None

    def _refusal(self, action: str, status: int, body: str) -> LedgerError:
        try:
            message = json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            message = body
        hint = {
            401: "the service account token was refused",
            403: "the node's service account may not get/update this ConfigMap",
            404: "the ConfigMap does not exist (the operator creates it)",
        }.get(status, "")
        detail = f"{hint}: {message}" if hint else str(message)
        return LedgerError(f"the ID ledger {self.description} cannot be {action} (HTTP {status}): {detail[:300]}")
