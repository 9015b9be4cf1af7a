"""The Kubernetes side of the plugin: kubeconfig, JqmClusters, node pods, the auth Secret, Events.

Loads the kubeconfig as kubectl does (``--kubeconfig``, else ``$KUBECONFIG``, else
``~/.kube/config``; ``--context``, else the current context; ``-n``, else the context's namespace,
else ``default``). Objects are read raw (API JSON as dicts). Every Kubernetes failure becomes a
:class:`PluginError` with the API server's own explanation.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from jqm_kubectl.errors import Exit, PluginError

GROUP, VERSION, PLURAL = "jqm.enioka-community.io", "v1alpha1", "jqmclusters"
LABEL_NAME, LABEL_INSTANCE, NODE_APP = "app.kubernetes.io/name", "app.kubernetes.io/instance", "jqm-node"
AUTH_SECRET_SUFFIX, ADMIN_PASSWORD_KEY, ADMIN_USER = "-auth", "admin-password", "admin"
REQUEST_TIMEOUT = (5, 30)
"""(connect, read) seconds of every Kubernetes call."""

T = TypeVar("T")


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str | None
    ready: bool
    phase: str
    terminating: bool

    @classmethod
    def from_api(cls, pod: dict[str, Any]) -> Pod:
        status = pod.get("status") or {}
        conditions = status.get("conditions") or []
        return cls(
            name=pod["metadata"]["name"],
            ip=status.get("podIP"),
            ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
            phase=status.get("phase") or "Unknown",
            terminating=bool(pod["metadata"].get("deletionTimestamp")),
        )


def explain(error: ApiException) -> str:
    """The API server's message from a Status body, else the HTTP reason."""
    try:
        body = json.loads(error.body or b"{}")
    except (ValueError, TypeError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"{error.status} {error.reason}")


class KubeSession:
    """One kubeconfig context and namespace."""

    def __init__(self, *, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        try:
            configuration = client.Configuration()
            config.load_kube_config(  # type: ignore[no-untyped-call]  # kubernetes' config loaders: no annotations
                config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
            listed = config.list_kube_config_contexts  # kubernetes' config loaders have no annotations
            contexts, current = listed(config_file=kubeconfig)  # type: ignore[no-untyped-call]  # (same)
        except (ConfigException, OSError, ValueError) as e:
            raise PluginError(f"cannot load the kubeconfig: {e}", Exit.UNREACHABLE) from None
        chosen = next((c for c in contexts if c.get("name") == context), current) if context else current
        self.namespace: str = namespace or (chosen or {}).get("context", {}).get("namespace") or "default"
        self.configuration = configuration
        self.api = client.ApiClient(configuration)
        self._core = client.CoreV1Api(self.api)
        self._custom = client.CustomObjectsApi(self.api)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]  # the generated ApiClient has no annotations

    def _call(self, what: str, fn: Callable[[], T], *, not_found: str | None = None) -> T:
        """Runs one API call, turning its failures into messages (``not_found`` for a 404)."""
        try:
            return fn()
        except ApiException as e:
            if e.status == 404 and not_found is not None:
                raise PluginError(not_found, Exit.NOT_FOUND) from None
            if e.status in (401, 403):
                raise PluginError(f"Kubernetes refused to {what}: {explain(e)}", Exit.ACCESS) from None
            raise PluginError(f"cannot {what}: {explain(e)}", Exit.UNREACHABLE) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            host = self.configuration.host
            raise PluginError(f"cannot reach the Kubernetes API server at {host}: {e}", Exit.UNREACHABLE) from None

    def _raw(self, response: Any) -> dict[str, Any]:
        data = json.loads(response.data or b"{}")
        return data if isinstance(data, dict) else {}

    def get_cluster(self, name: str) -> dict[str, Any]:
        try:
            return self._call(
                f"read JqmCluster {self.namespace}/{name}",
                lambda: self._raw(
                    self._custom.get_namespaced_custom_object(
                        GROUP,
                        VERSION,
                        self.namespace,
                        PLURAL,
                        name,
                        _request_timeout=REQUEST_TIMEOUT,
                        _preload_content=False,
                    )
                ),
                not_found="",
            )
        except PluginError as e:
            if e.code is not Exit.NOT_FOUND:
                raise
        known = ", ".join(self.cluster_names()) or "none"
        raise PluginError(
            f"no JqmCluster {name!r} in namespace {self.namespace!r} (JqmClusters there: {known})", Exit.NOT_FOUND
        )

    def list_clusters(self) -> list[dict[str, Any]]:
        answer = self._call(
            f"list JqmClusters in namespace {self.namespace}",
            lambda: self._raw(
                self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
                )
            ),
            not_found="the JqmCluster resource is not installed on this Kubernetes cluster (no CRD)",
        )
        return sorted(answer.get("items") or [], key=lambda item: item["metadata"]["name"])

    def cluster_names(self) -> list[str]:
        return [item["metadata"]["name"] for item in self.list_clusters()]

    def node_pods(self, cluster: str) -> list[Pod]:
        selector = f"{LABEL_NAME}={NODE_APP},{LABEL_INSTANCE}={cluster}"
        answer = self._call(
            f"list the pods of JqmCluster {cluster}",
            lambda: self._raw(
                self._core.list_namespaced_pod(
                    self.namespace,
                    label_selector=selector,
                    _request_timeout=REQUEST_TIMEOUT,
                    _preload_content=False,
                )
            ),
        )
        return sorted((Pod.from_api(item) for item in answer.get("items") or []), key=lambda p: p.name)

    def admin_password(self, cluster: str) -> str | None:
        """``admin-password`` of the cluster's ``<cluster>-auth`` Secret; None when there is no such Secret."""
        name = cluster + AUTH_SECRET_SUFFIX
        try:
            secret = self._call(
                f"read Secret {self.namespace}/{name} (the cluster's credentials; or give --user and --password-stdin)",
                lambda: self._raw(
                    self._core.read_namespaced_secret(
                        name, self.namespace, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
                    )
                ),
                not_found="",
            )
        except PluginError as e:
            if e.code is Exit.NOT_FOUND:
                return None
            raise
        encoded = (secret.get("data") or {}).get(ADMIN_PASSWORD_KEY)
        if not encoded:
            raise PluginError(f"Secret {self.namespace}/{name} has no key {ADMIN_PASSWORD_KEY!r}", Exit.ACCESS)
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise PluginError(
                f"Secret {self.namespace}/{name}: {ADMIN_PASSWORD_KEY!r} is not valid", Exit.ACCESS
            ) from None

    def events(self, cluster: str, *, limit: int) -> list[dict[str, Any]]:
        """The latest Events about the JqmCluster, oldest first."""
        selector = f"involvedObject.kind=JqmCluster,involvedObject.name={cluster}"
        answer = self._call(
            f"list the Events of JqmCluster {cluster}",
            lambda: self._raw(
                self._core.list_namespaced_event(
                    self.namespace,
                    field_selector=selector,
                    _request_timeout=REQUEST_TIMEOUT,
                    _preload_content=False,
                )
            ),
        )
        items = answer.get("items") or []
        items.sort(key=event_time)
        return items[-limit:]


def event_time(event: dict[str, Any]) -> str:
    """When the Event last happened (RFC 3339; sorts as text)."""
    series = event.get("series") or {}
    return str(
        event.get("lastTimestamp")
        or series.get("lastObservedTime")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
