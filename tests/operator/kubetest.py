"""Access to a real API server for the integration tests, or a clear reason to skip.

The cluster is whatever ``$JQM_TEST_KUBECONFIG``, else ``$KUBECONFIG``, else ~/.kube/config points at
(the local control plane of ``make cluster-up`` writes one). Each test gets its own namespace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client, config

from tests.operator.crdutil import ROOT

T = TypeVar("T")


def kubeconfig_path() -> Path | None:
    for candidate in (
        os.environ.get("JQM_TEST_KUBECONFIG"),
        os.environ.get("KUBECONFIG"),
        str(Path.home() / ".kube" / "config"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def connect() -> tuple[client.ApiClient | None, str]:
    """An API client for a reachable cluster, or None and why not."""
    path = kubeconfig_path()
    if path is None:
        return None, "no kubeconfig ($JQM_TEST_KUBECONFIG, $KUBECONFIG, ~/.kube/config): run `make cluster-up`"
    try:
        api = config.new_client_from_config(config_file=str(path))
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception as e:  # noqa: BLE001  (any failure means: no usable cluster, skip)
        return None, f"cluster of {path} unreachable: {e}"
    os.environ["KUBECONFIG"] = str(path)  # for the operator under test, which loads the default config
    return api, ""


def install_crds(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    for name in ("jqmcluster.yaml", "kopf-peering.yaml"):
        for crd in yaml.safe_load_all((ROOT / "crds" / name).read_text()):
            ext.patch_custom_resource_definition(
                name=crd["metadata"]["name"],
                body=crd,
                field_manager="jqm-tests",
                force=True,
                _content_type="application/apply-patch+yaml",
            )
    wait_for(lambda: _established(ext), what="CRDs established")


def _established(ext: client.ApiextensionsV1Api) -> bool:
    crd = ext.read_custom_resource_definition("jqmclusters.jqm.enioka-community.io")
    return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])


def wait_for(probe: Callable[[], T], *, what: str, limit: float = 60.0, every: float = 0.5) -> T:
    """Polls until ``probe`` returns something truthy; fails naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)


def jqmcluster(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "jqm.enioka-community.io/v1alpha1",
        "kind": "JqmCluster",
        "metadata": {"name": name},
        "spec": spec,
    }
