"""Transports of the JQM client that reach a node pod without any exposed address.

``proxy`` (default): through the API server's ``pods/proxy`` subresource, with the kubeconfig's own
TLS and credentials, so it works wherever kubectl works. The API server consumes the request's
``Authorization`` header (it authenticates the Kubernetes user with it and removes it before
proxying), so the JQM credentials travel in ``X-Jqm-Authorization`` (same syntax) instead.
``direct``: plain HTTP to the pod IP, for machines that reach the pod network (the local cluster,
a pod); the JQM credentials go in ``Authorization`` as usual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import urllib3

from jqm_client.errors import JqmConnectionError
from jqm_client.http import HttpRequest, HttpResponse, Sink, Transport, is_success, lower_headers
from jqm_client.transport import CHUNK, HttpTransport
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.kube import KubeSession, Pod

JQM_AUTHORIZATION = "X-Jqm-Authorization"
CLIENT_PORT, MANAGEMENT_PORT = 1789, 1790


def _kubernetes_status(body: bytes) -> str | None:
    """The message of a Kubernetes ``Status`` body (an answer of the API server, not of the node)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and data.get("kind") == "Status" and data.get("apiVersion") == "v1":
        return str(data.get("message") or data.get("reason") or "no message")
    return None


def proxied_headers(headers: Mapping[str, str], *, kube_authorization: str | None) -> dict[str, str]:
    """The JQM ``Authorization`` moved to ``X-Jqm-Authorization``; the Kubernetes one (if any) in its place."""
    result = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    jqm_credentials = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if jqm_credentials:
        result[JQM_AUTHORIZATION] = jqm_credentials
    if kube_authorization:
        result["Authorization"] = kube_authorization
    return result


class PodProxyTransport:
    """Implements :class:`jqm_client.http.Transport` through ``pods/proxy`` of one pod and port."""

    def __init__(self, session: KubeSession, *, pod: str, port: int, scheme: str, timeout: float) -> None:
        self._configuration = session.configuration
        self._pool: urllib3.PoolManager = session.api.rest_client.pool_manager
        self._timeout = urllib3.Timeout(connect=5.0, read=timeout)
        name = f"{pod}:{port}" if scheme == "http" else f"{scheme}:{pod}:{port}"
        self._where = f"pod {session.namespace}/{pod} port {port}"
        self.base_url = f"{self._configuration.host}/api/v1/namespaces/{session.namespace}/pods/{name}/proxy"

    def __repr__(self) -> str:
        return f"PodProxyTransport({self._where})"

    def _headers(self, request: HttpRequest) -> dict[str, str]:
        token = self._configuration.auth_settings().get("BearerToken")  # the Kubernetes user's, if any
        return proxied_headers(request.headers, kube_authorization=token.get("value") if token else None)

    def send(self, request: HttpRequest, *, sink: Sink | None = None) -> HttpResponse:
        try:
            answer: Any = self._pool.request(
                request.method,
                self.base_url + request.target,
                headers=self._headers(request),
                body=request.body,
                preload_content=False,
                redirect=False,
                retries=False,
                timeout=self._timeout,
            )
        except urllib3.exceptions.HTTPError as e:
            raise JqmConnectionError(
                f"cannot reach the Kubernetes API server at {self._configuration.host}: {e}"
            ) from e
        try:
            headers = lower_headers(list(answer.headers.items()))
            if sink is None or not is_success(answer.status):
                body = answer.read()
                if answer.status >= 400:
                    self._check_api_server_error(answer.status, body)
                return HttpResponse(status=answer.status, headers=headers, body=body)
            for chunk in answer.stream(CHUNK):
                sink(chunk)
            return HttpResponse(status=answer.status, headers=headers)
        except urllib3.exceptions.HTTPError as e:
            raise JqmConnectionError(f"{self._where}: the answer broke off: {e}") from e
        finally:
            answer.release_conn()

    def _check_api_server_error(self, status: int, body: bytes) -> None:
        message = _kubernetes_status(body)
        if message is None:
            return  # the node's own answer (an errorDto): the client reads it
        if status in (401, 403):
            raise PluginError(
                f"Kubernetes refused the proxy to {self._where}: {message} "
                "(the plugin needs get and create on pods/proxy, see docs/CLIENT.md)",
                Exit.ACCESS,
            )
        raise PluginError(f"the API server could not reach {self._where}: {message}", Exit.UNREACHABLE)

    def close(self) -> None:
        """The pool belongs to the Kubernetes session."""


def pod_transport(session: KubeSession, pod: Pod, *, port: int, mode: str, scheme: str, timeout: float) -> Transport:
    """The transport to ``pod``'s ``port`` in access ``mode`` (``proxy`` or ``direct``)."""
    if mode == "proxy":
        return PodProxyTransport(session, pod=pod.name, port=port, scheme=scheme, timeout=timeout)
    if scheme != "http":
        raise PluginError("--access direct does not support clusters with TLS: use --access proxy", Exit.USAGE)
    if not pod.ip:
        raise PluginError(f"pod {pod.name} has no IP yet", Exit.UNREACHABLE)
    return HttpTransport(f"http://{pod.ip}:{port}", timeout=timeout)
