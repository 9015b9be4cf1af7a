"""Access to a real API server for the integration tests, or a clear reason to skip.

The cluster is whatever ``$JQM_TEST_KUBECONFIG``, else ``$KUBECONFIG``, else the local cluster of
``make cluster-up`` (``.state/cluster/kubeconfig``), else ~/.kube/config points at. Each test gets its
own namespace.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client, config

from tests.operator.crdutil import ROOT
from tests.waiting import wait_until

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


def operator_args(api: client.ApiClient, namespace: str) -> list[str]:
    """``kopf run`` arguments for the operator under test, serving ``namespace`` only.

    If a jqm-operator already runs in the cluster (a ClusterKopfPeering with live records), the test
    operator joins that peering with the highest priority: the installed one pauses for the test's
    duration instead of racing it, and resumes when the test operator exits. Otherwise it runs unpeered.
    """
    base = ["run", "--namespace", namespace, "-m", "jqm_operator.handlers"]
    try:
        peerings = client.CustomObjectsApi(api).list_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings")
    except client.exceptions.ApiException:
        return [*base, "--standalone"]
    live = [p["metadata"]["name"] for p in peerings.get("items", []) if p.get("status")]
    if not live:
        return [*base, "--standalone"]
    return [*base, "--peering", live[0], "--priority", str(TEST_PRIORITY)]


TEST_PRIORITY = 2**31 - 1
"""Above any random priority a jqm-operator draws (config.PRIORITY_RANGE)."""


def wait_until_leading(api: client.ApiClient, args: list[str]) -> None:
    """With peering, waits until the test operator's record is in the peering object, so that the
    installed operator has been told to pause before the test creates anything."""
    if "--peering" not in args:
        return
    name = args[args.index("--peering") + 1]

    def registered() -> bool:
        peering = client.CustomObjectsApi(api).get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", name)
        return any(entry.get("priority") == TEST_PRIORITY for entry in (peering.get("status") or {}).values())

    wait_until(registered, what=f"the test operator's record in ClusterKopfPeering {name}", timeout=60, every=0.5)


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
    wait_until(lambda: _established(ext), what="CRDs established", timeout=60, every=0.5)


def _established(ext: client.ApiextensionsV1Api) -> bool:
    crd = ext.read_custom_resource_definition("jqmclusters.jqm.enioka-community.io")
    return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])


def jqmcluster(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "jqm.enioka-community.io/v1alpha1",
        "kind": "JqmCluster",
        "metadata": {"name": name},
        "spec": spec,
    }
