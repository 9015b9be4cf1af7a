"""The Kubernetes side of :class:`jqm_operator.ports.ClusterApi`, on the official ``kubernetes`` client.

Why this client rather than kopf's own API calls: kopf exposes no public generic "apply" call, and the
typed client gives server-side apply on every built-in kind (``_content_type`` apply-patch, a field manager
and ``force``) and the Eviction API, with the same kubeconfig/in-cluster login kopf uses. The calls are
blocking; handlers using them are sync, which kopf runs in its thread pool.
Responses are read raw (``_preload_content=False``) so the services see API-form dicts, as kubectl would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from jqm_operator import constants as c

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = (5, 30)
"""(connect, read) seconds for every call: a hung API server must not hang a handler forever."""


def load_credentials() -> client.ApiClient:
    """In-cluster credentials when in a pod, else the kubeconfig (``$KUBECONFIG`` or ~/.kube/config)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def _body(response: Any) -> dict[str, Any]:
    return json.loads(response.data or b"{}")


class KubeClusterApi:
    """Implements :class:`jqm_operator.ports.ClusterApi`."""

    def __init__(self, *, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        apps = client.AppsV1Api(api_client)
        policy = client.PolicyV1Api(api_client)
        net = client.NetworkingV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._kinds: dict[str, tuple[Any, str]] = {
            "ConfigMap": (self._core, "config_map"),
            "Service": (self._core, "service"),
            "Deployment": (apps, "deployment"),
            "PodDisruptionBudget": (policy, "pod_disruption_budget"),
            "Ingress": (net, "ingress"),
        }

    def _method(self, verb: str, kind: str) -> Callable[..., Any]:
        api, suffix = self._kinds[kind]
        return getattr(api, f"{verb}_namespaced_{suffix}")

    def apply(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        self._method("patch", manifest["kind"])(
            name=meta["name"],
            namespace=meta["namespace"],
            body=dict(manifest),
            field_manager=c.FIELD_MANAGER,
            force=True,
            _content_type=APPLY_PATCH,
            _request_timeout=REQUEST_TIMEOUT,
            _preload_content=False,
        )

    def delete_if_exists(self, *, kind: str, namespace: str, name: str) -> bool:
        try:
            self._method("delete", kind)(name=name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    def get(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            response = self._method("read", kind)(
                name=name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return _body(response)

    def list_pods(self, *, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        response = self._core.list_namespaced_pod(
            namespace=namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        return list(_body(response).get("items") or [])

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        eviction = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
            "deleteOptions": {"preconditions": {"uid": uid}},
        }
        try:
            self._core.create_namespaced_pod_eviction(
                name=name, namespace=namespace, body=eviction, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as e:
            if e.status == 429:  # the PodDisruptionBudget refuses it for now
                return False
            if e.status in (404, 409):  # already gone, or replaced by a pod with another uid
                return True
            raise
        return True

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        body = self._custom.get_namespaced_custom_object_status(
            group=c.GROUP,
            version=c.VERSION,
            namespace=namespace,
            plural=c.PLURAL,
            name=name,
            _request_timeout=REQUEST_TIMEOUT,
        )
        return dict(body.get("status") or {})

    def patch_cluster_status(self, *, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self._custom.patch_namespaced_custom_object_status(
            group=c.GROUP,
            version=c.VERSION,
            namespace=namespace,
            plural=c.PLURAL,
            name=name,
            body={"status": dict(status)},
            _content_type=MERGE_PATCH,
            _request_timeout=REQUEST_TIMEOUT,
        )
