"""One JqmCluster as the commands see it: its object, its node pods, its credentials, and clients
of its nodes (the client API on port 1789, the management API on port 1790)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from jqm_client import AuthenticationError, BasicAuth, JqmClient
from jqm_client.http import HttpRequest
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.kube import ADMIN_USER, AUTH_SECRET_SUFFIX, KubeSession, Pod
from jqm_kubectl.proxy import CLIENT_PORT, MANAGEMENT_PORT, pod_transport


@dataclass(frozen=True, kw_only=True)
class AccessOptions:
    mode: str = "proxy"
    user: str | None = None
    password: str | None = None
    request_timeout: float = 30.0


class ClusterAccess:
    """Resolves the cluster once (object, pods); credentials are read only when a call needs them."""

    def __init__(self, session: KubeSession, name: str, options: AccessOptions) -> None:
        self.session = session
        self.name = name
        self.options = options
        self.cluster: dict[str, Any] = session.get_cluster(name)
        self.pods: list[Pod] = session.node_pods(name)
        auth_spec = (self.cluster.get("spec") or {}).get("auth") or {}
        self.scheme = "https" if (auth_spec.get("tls") or {}).get("secretName") else "http"
        self._auth_enabled = auth_spec.get("enabled", True) is not False
        self._credentials: BasicAuth | None = None
        self._credentials_read = False

    @property
    def secret_name(self) -> str:
        return f"{self.session.namespace}/{self.name}{AUTH_SECRET_SUFFIX}"

    def credentials(self) -> BasicAuth | None:
        """``--user``/``--password-stdin``, else user admin with the Secret's password, else none."""
        if not self._credentials_read:
            self._credentials_read = True
            if self.options.password is not None:
                self._credentials = BasicAuth(self.options.user or ADMIN_USER, self.options.password)
            elif self._auth_enabled:
                password = self.session.admin_password(self.name)
                self._credentials = BasicAuth(ADMIN_USER, password) if password is not None else None
        return self._credentials

    def explain_refusal(self, error: AuthenticationError) -> PluginError:
        """A 401 from a node, with what the plugin sent and what to do about it."""
        if self._credentials is None:
            hint = f"Secret {self.secret_name} was not found: give --user and --password-stdin"
        elif self.options.password is not None:
            hint = f"the password given for user {self._credentials.user!r} was refused"
        else:
            hint = f"the admin password of Secret {self.secret_name} was refused"
        return PluginError(
            f"JqmCluster {self.name} asks for credentials ({error.user_readable_message}); {hint}", Exit.ACCESS
        )

    def ready_pods(self) -> list[Pod]:
        return [p for p in self.pods if p.ready and not p.terminating]

    def client(self) -> JqmClient:
        """A client of a ready node chosen at random (any node answers for any job of the cluster)."""
        ready = self.ready_pods()
        if not ready:
            states = ", ".join(f"{p.name} ({p.phase})" for p in self.pods) or "no pod"
            raise PluginError(f"no node of JqmCluster {self.name} is ready: {states}", Exit.UNREACHABLE)
        pod = random.choice(ready)
        transport = pod_transport(
            self.session,
            pod,
            port=CLIENT_PORT,
            mode=self.options.mode,
            scheme=self.scheme,
            timeout=self.options.request_timeout,
        )
        return JqmClient(transport=transport, auth=self.credentials())

    def management(self, pod: Pod, path: str) -> bytes:
        """``GET path`` on the pod's management port (no credentials: the port is never exposed)."""
        transport = pod_transport(
            self.session, pod, port=MANAGEMENT_PORT, mode=self.options.mode, scheme=self.scheme, timeout=10.0
        )
        try:
            response = transport.send(HttpRequest(method="GET", path=path, headers={"Accept": "application/json"}))
        finally:
            transport.close()
        if response.status != 200:
            raise PluginError(f"{path} on {pod.name}: HTTP {response.status}", Exit.UNREACHABLE)
        return response.body

    def node_status(self, pod: Pod) -> dict[str, Any]:
        data = json_body_of(self.management(pod, "/node/status"))
        if not isinstance(data, dict):
            raise PluginError(f"/node/status on {pod.name} is not a JSON object", Exit.UNREACHABLE)
        return data


def json_body_of(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise PluginError(f"not a JSON answer: {e}", Exit.UNREACHABLE) from None
