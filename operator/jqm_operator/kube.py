"""The Kubernetes side of :class:`jqm_operator.ports.ClusterApi`, on the official ``kubernetes`` client.

Why this client rather than kopf's own API calls: kopf exposes no public generic "apply" call, and the
typed client gives server-side apply on every built-in kind (``_content_type`` apply-patch, a field manager
and ``force``) and the Eviction API, with the same kubeconfig/in-cluster login kopf uses. The calls are
blocking; handlers using them are sync, which kopf runs in its thread pool. Every failure reaches the
services as :class:`jqm_operator.ports.ApiRefused` with the API server's own message.
Responses are read raw (``_preload_content=False``) so the services see API-form dicts, as kubectl would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from jqm_operator import constants as c
from jqm_operator.ports import ApiRefused

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = (5, 30)
"""(connect, read) seconds for every call: a hung API server must not hang a handler forever."""


def load_credentials() -> client.ApiClient:
    """In-cluster credentials when in a pod, else the kubeconfig (``$KUBECONFIG`` or ~/.kube/config)."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]  # kubernetes' config loaders have no annotations
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]  # (same)
    return client.ApiClient()


def _body(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.data or b"{}"))


def explain(error: ApiException) -> str:
    """The API server's own message (e.g. which field of a Deployment is invalid), else the HTTP reason."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or error.reason)


@contextmanager
def refusals() -> Iterator[None]:
    """Turns the client's errors into :class:`ApiRefused` carrying the API server's message."""
    try:
        yield
    except ApiException as e:
        raise ApiRefused(status=int(e.status or 0), message=explain(e)) from e
    except (HTTPError, OSError) as e:
        raise ApiRefused(status=0, message=f"API server unreachable: {e}") from e


class KubeClusterApi:
    """Implements :class:`jqm_operator.ports.ClusterApi`."""

    def __init__(self, *, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        apps = client.AppsV1Api(api_client)
        policy = client.PolicyV1Api(api_client)
        net = client.NetworkingV1Api(api_client)
        rbac = client.RbacAuthorizationV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._kinds: dict[str, tuple[Any, str]] = {
            "ConfigMap": (self._core, "config_map"),
            "Secret": (self._core, "secret"),
            "Pod": (self._core, "pod"),
            "ServiceAccount": (self._core, "service_account"),
            "Service": (self._core, "service"),
            "Deployment": (apps, "deployment"),
            "PodDisruptionBudget": (policy, "pod_disruption_budget"),
            "Ingress": (net, "ingress"),
            "NetworkPolicy": (net, "network_policy"),
            "Role": (rbac, "role"),
            "RoleBinding": (rbac, "role_binding"),
        }

    def _method(self, verb: str, kind: str) -> Callable[..., Any]:
        api, suffix = self._kinds[kind]
        method: Callable[..., Any] = getattr(api, f"{verb}_namespaced_{suffix}")
        return method

    def apply(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        with refusals():
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

    def replace(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        with refusals():
            self._method("replace", manifest["kind"])(
                name=meta["name"],
                namespace=meta["namespace"],
                body=dict(manifest),
                field_manager=c.FIELD_MANAGER,
                _request_timeout=REQUEST_TIMEOUT,
                _preload_content=False,
            )

    def create(self, manifest: Mapping[str, Any]) -> None:
        with refusals():
            self._method("create", manifest["kind"])(
                namespace=manifest["metadata"]["namespace"],
                body=dict(manifest),
                field_manager=c.FIELD_MANAGER,
                _request_timeout=REQUEST_TIMEOUT,
                _preload_content=False,
            )

    def merge_patch(self, *, kind: str, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        with refusals():
            self._method("patch", kind)(
                name=name,
                namespace=namespace,
                body=dict(patch),
                field_manager=c.FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
                _preload_content=False,
            )

    def delete_if_exists(self, *, kind: str, namespace: str, name: str) -> bool:
        with refusals():
            try:
                self._method("delete", kind)(name=name, namespace=namespace, _request_timeout=REQUEST_TIMEOUT)
            except ApiException as e:
                if e.status == 404:
                    return False
                raise
        return True

    def get(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with refusals():
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
        with refusals():
            response = self._core.list_namespaced_pod(
                namespace=namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
            )
        return list(_body(response).get("items") or [])

    def evict_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        eviction = client.V1Eviction(
            api_version="policy/v1",
            kind="Eviction",
            metadata=client.V1ObjectMeta(name=name, namespace=namespace),
            delete_options=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)),
        )
        with refusals():
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

    def delete_pod(self, *, namespace: str, name: str, uid: str) -> bool:
        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
        with refusals():
            try:
                self._core.delete_namespaced_pod(
                    name=name, namespace=namespace, body=options, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as e:
                if e.status in (404, 409):  # gone, or replaced by a pod with another uid
                    return False
                raise
        return True

    def get_cluster_status(self, *, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.read_cluster(namespace=namespace, name=name).get("status") or {})

    def read_cluster(self, *, namespace: str, name: str) -> dict[str, Any]:
        with refusals():
            body = self._custom.get_namespaced_custom_object_status(
                group=c.GROUP,
                version=c.VERSION,
                namespace=namespace,
                plural=c.PLURAL,
                name=name,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return dict(cast(dict[str, Any], body))

    def patch_cluster_status(
        self, *, namespace: str, name: str, status: Mapping[str, Any], resource_version: str | None = None
    ) -> None:
        body: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:  # a precondition: 409 Conflict if the object changed since
            body["metadata"] = {"resourceVersion": resource_version}
        with refusals():
            self._custom.patch_namespaced_custom_object_status(
                group=c.GROUP,
                version=c.VERSION,
                namespace=namespace,
                plural=c.PLURAL,
                name=name,
                body=body,
                _content_type=MERGE_PATCH,
                _request_timeout=REQUEST_TIMEOUT,
            )
