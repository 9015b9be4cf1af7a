"""The node side of :class:`jqm_operator.ports.NodeApi`: ``/node/status`` and ``/node/drain``.

Two transports, because the operator must run both in a pod and from a laptop against any kubeconfig:

* ``direct``: plain HTTP to ``<pod IP>:1789``; needs a network path to the pods, no extra RBAC;
* ``proxy``: through the API server's pod proxy; works wherever the kubeconfig works, needs
  ``pods/proxy`` (get, create) in RBAC.

``auto`` picks direct inside a cluster and proxy outside.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from jqm_operator import constants as c
from jqm_operator.ports import NodeApi, NodeUnreachable

TIMEOUT_SECONDS = 5.0


class DirectNodeApi:
    """HTTP straight to the pod IP."""

    def __init__(self, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    def _call(self, *, method: str, ip: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(f"http://{ip}:{c.NODE_PORT}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise NodeUnreachable(f"{method} {path} on {ip}: {e}") from e

    def status(self, *, namespace: str, pod: str, ip: str) -> dict[str, Any]:
        return self._call(method="GET", ip=ip, path=c.STATUS_PATH)

    def drain(self, *, namespace: str, pod: str, ip: str) -> None:
        self._call(method="POST", ip=ip, path=c.DRAIN_PATH)


class ProxyNodeApi:
    """HTTP through the API server's ``pods/proxy`` subresource."""

    def __init__(self, *, api_client: client.ApiClient, timeout: float = TIMEOUT_SECONDS) -> None:
        self._core = client.CoreV1Api(api_client)
        self._timeout = timeout

    def status(self, *, namespace: str, pod: str, ip: str) -> dict[str, Any]:
        try:
            response = self._core.connect_get_namespaced_pod_proxy_with_path(
                name=f"{pod}:{c.NODE_PORT}",
                namespace=namespace,
                path=c.STATUS_PATH.lstrip("/"),
                _request_timeout=self._timeout,
                _preload_content=False,
            )
            return json.loads(response.data or b"{}")
        except (ApiException, OSError, ValueError) as e:
            raise NodeUnreachable(f"GET {c.STATUS_PATH} on {namespace}/{pod} via the API server: {e}") from e

    def drain(self, *, namespace: str, pod: str, ip: str) -> None:
        try:
            self._core.connect_post_namespaced_pod_proxy_with_path(
                name=f"{pod}:{c.NODE_PORT}",
                namespace=namespace,
                path=c.DRAIN_PATH.lstrip("/"),
                _request_timeout=self._timeout,
                _preload_content=False,
            )
        except (ApiException, OSError) as e:
            raise NodeUnreachable(f"POST {c.DRAIN_PATH} on {namespace}/{pod} via the API server: {e}") from e


def node_api(*, mode: str, api_client: client.ApiClient) -> NodeApi:
    """The transport named by ``mode`` (direct, proxy or auto)."""
    if mode == "auto":
        mode = "direct" if os.environ.get("KUBERNETES_SERVICE_HOST") else "proxy"
    if mode == "direct":
        return DirectNodeApi()
    if mode == "proxy":
        return ProxyNodeApi(api_client=api_client)
    raise ValueError(f"unknown node access mode {mode!r}: use direct, proxy or auto")
