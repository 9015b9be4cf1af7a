"""The node side of :class:`jqm_operator.ports.NodeApi`: the management port (1790) of each node.

Two transports, because the operator must run both in a pod and from a laptop against any kubeconfig:

* ``direct``: HTTP(S) to ``<pod IP>:1790``; needs a network path to the pods, no extra RBAC;
* ``proxy``: through the API server's pod proxy; works wherever the kubeconfig works, needs
  ``pods/proxy`` (get, create) in RBAC.

``auto`` picks direct inside a cluster and proxy outside.

Drain and undrain carry the cluster's management token (key ``management-token`` of the Secret
``<cluster>-auth``, read once and cached; read again after a 401 or 403, in case the Secret was
recreated). Direct calls send it as ``Authorization: Bearer``. The API server's proxy removes the
``Authorization`` header of every request it authenticates (it carries the operator's own Kubernetes
credentials), so proxied calls send the token as ``X-Jqm-Management-Token`` instead.

With TLS on (``spec.auth.tls``), calls use HTTPS without verifying the node's certificate: certificates
name Services and hosts, rarely pod IPs. The token is then encrypted but not protected from an active
impostor on the pod network; a NetworkPolicy (``spec.networkPolicy``) narrows who can be one.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from jqm_operator import constants as c
from jqm_operator.builders import child_names
from jqm_operator.ports import NodeApi, NodeRef, NodeUnreachable

TIMEOUT_SECONDS = 5.0
AUTH_FAILURES = (401, 403)


class NodeRefused(NodeUnreachable):
    """The node answered with an HTTP error."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ManagementTokens:
    """Each cluster's management token, read from its ``<cluster>-auth`` Secret and cached."""

    def __init__(self, *, read: Callable[[str, str], str | None]) -> None:
        self._read = read
        self._cache: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, *, namespace: str, cluster: str) -> str:
        key = (namespace, cluster)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        token = self._read(namespace, cluster)
        if not token:
            secret = child_names(cluster)["auth"]
            raise NodeUnreachable(f"no {c.MANAGEMENT_TOKEN_KEY} in Secret {namespace}/{secret}")
        with self._lock:
            self._cache[key] = token
        return token

    def forget(self, *, namespace: str, cluster: str) -> None:
        with self._lock:
            self._cache.pop((namespace, cluster), None)

    @classmethod
    def from_api(cls, api_client: client.ApiClient) -> ManagementTokens:
        core = client.CoreV1Api(api_client)

        def read(namespace: str, cluster: str) -> str | None:
            try:
                secret = core.read_namespaced_secret(
                    child_names(cluster)["auth"], namespace, _request_timeout=TIMEOUT_SECONDS
                )
            except (ApiException, HTTPError, OSError) as e:
                raise NodeUnreachable(f"reading the management token of {namespace}/{cluster}: {e}") from e
            encoded = (secret.data or {}).get(c.MANAGEMENT_TOKEN_KEY)
            return base64.b64decode(encoded).decode() if encoded else None

        return cls(read=read)


def _with_token(tokens: ManagementTokens, node: NodeRef, call: Callable[[str], None]) -> None:
    """Runs ``call(token)``; after an authentication refusal, once more with the token read again."""
    try:
        call(tokens.get(namespace=node.namespace, cluster=node.cluster))
    except NodeRefused as e:
        if e.status not in AUTH_FAILURES:
            raise
        tokens.forget(namespace=node.namespace, cluster=node.cluster)
        call(tokens.get(namespace=node.namespace, cluster=node.cluster))


def _drain_body(reason: str) -> bytes:
    return json.dumps({"reason": reason}).encode()


def _detail(error: urllib.error.HTTPError) -> str:
    """The node's errorDto message when it sent one (never a header or a token)."""
    try:
        body = json.loads(error.read() or b"{}")
    except (ValueError, OSError):
        return str(error.reason)
    return str(body.get("userMessage") or body.get("message") or error.reason) if isinstance(body, dict) else ""


class DirectNodeApi:
    """HTTP(S) straight to the pod IP's management port."""

    def __init__(self, *, tokens: ManagementTokens, timeout: float = TIMEOUT_SECONDS) -> None:
        self._tokens = tokens
        self._timeout = timeout
        self._unverified = ssl.create_default_context()
        self._unverified.check_hostname = False
        self._unverified.verify_mode = ssl.CERT_NONE

    def _call(self, node: NodeRef, *, method: str, path: str, token: str = "", body: bytes | None = None) -> Any:
        scheme = "https" if node.tls else "http"
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"{scheme}://{node.ip}:{c.MANAGEMENT_PORT}{path}", data=body, method=method, headers=headers
        )
        where = f"{method} {path} on {node.ip}"
        try:
            context = self._unverified if node.tls else None
            with urllib.request.urlopen(request, timeout=self._timeout, context=context) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise NodeRefused(f"{where}: HTTP {e.code} {_detail(e)}", status=e.code) from e
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise NodeUnreachable(f"{where}: {e}") from e

    def status(self, node: NodeRef) -> dict[str, Any]:
        return dict(self._call(node, method="GET", path=c.STATUS_PATH))

    def drain(self, node: NodeRef, *, reason: str) -> None:
        _with_token(
            self._tokens,
            node,
            lambda token: self._call(node, method="POST", path=c.DRAIN_PATH, token=token, body=_drain_body(reason)),
        )

    def undrain(self, node: NodeRef) -> None:
        _with_token(self._tokens, node, lambda token: self._call(node, method="POST", path=c.UNDRAIN_PATH, token=token))


class ProxyNodeApi:
    """HTTP(S) through the API server's ``pods/proxy`` subresource, to the management port."""

    def __init__(
        self, *, api_client: client.ApiClient, tokens: ManagementTokens, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self._api = api_client
        self._tokens = tokens
        self._timeout = timeout

    def _call(self, node: NodeRef, *, method: str, path: str, token: str = "", body: Any = None) -> Any:
        target = f"{'https:' if node.tls else ''}{node.pod}:{c.MANAGEMENT_PORT}"
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers[c.MANAGEMENT_TOKEN_HEADER] = token
        where = f"{method} {path} on {node.namespace}/{node.pod} via the API server"
        request = self._api.param_serialize(
            method,
            f"/api/v1/namespaces/{node.namespace}/pods/{target}/proxy{path}",
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(*request, _request_timeout=self._timeout)
            response.read()  # type: ignore[no-untyped-call]  # the client's RESTResponse has no annotations
        except (ApiException, HTTPError, OSError) as e:
            raise NodeUnreachable(f"{where}: {e}") from e
        if not 200 <= response.status <= 299:
            raise NodeRefused(f"{where}: HTTP {response.status} {response.reason}", status=response.status)
        try:
            return json.loads(response.data or b"{}")
        except ValueError as e:
            raise NodeUnreachable(f"{where}: {e}") from e

    def status(self, node: NodeRef) -> dict[str, Any]:
        return dict(self._call(node, method="GET", path=c.STATUS_PATH))

    def drain(self, node: NodeRef, *, reason: str) -> None:
        _with_token(
            self._tokens,
            node,
            lambda token: self._call(node, method="POST", path=c.DRAIN_PATH, token=token, body={"reason": reason}),
        )

    def undrain(self, node: NodeRef) -> None:
        _with_token(self._tokens, node, lambda token: self._call(node, method="POST", path=c.UNDRAIN_PATH, token=token))


def node_api(*, mode: str, api_client: client.ApiClient) -> NodeApi:
    """The transport named by ``mode`` (direct, proxy or auto)."""
    if mode == "auto":
        mode = "direct" if os.environ.get("KUBERNETES_SERVICE_HOST") else "proxy"
    tokens = ManagementTokens.from_api(api_client)
    if mode == "direct":
        return DirectNodeApi(tokens=tokens)
    if mode == "proxy":
        return ProxyNodeApi(api_client=api_client, tokens=tokens)
    raise ValueError(f"unknown node access mode {mode!r}: use direct, proxy or auto")
