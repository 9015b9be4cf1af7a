"""End-to-end fixtures: the cluster under test, the operator installed on it, and JqmClusters.

`--kubeconfig PATH` (or $KUBECONFIG) tests that cluster; without either, `--cluster=local` (default)
starts the local cluster (cluster/jqm_localcluster) for the session and stops it after it if the
session started it, and `--cluster=kind` creates a kind cluster (Docker) and loads the images of
`make images` into it, with the local cluster's ingress controller. The operator chart is installed
(or upgraded) in every case from the image `make images` built, with a short ID-limit check period.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jqm_localcluster import cluster, layout
from tests.e2e import kind
from tests.e2e.kube import Kube, namespace

REPO = Path(__file__).resolve().parents[2]
RELEASE, OPERATOR_NAMESPACE = "jqm-operator", "jqm-system"
# Operator settings for tests: look at node IDs every 2 s instead of 15.
CHART_VALUES = ("idLimitCheckSeconds=2", "resyncSeconds=10")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def cluster_mode(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--cluster"))


@pytest.fixture(scope="session")
def kubeconfig(request: pytest.FixtureRequest, cluster_mode: str) -> Iterator[Path]:
    given = request.config.getoption("--kubeconfig", default=None) or os.environ.get("KUBECONFIG")
    if given:
        yield Path(given)
        return
    if cluster_mode == "kind":
        missing = kind.missing_tools()
        if missing:
            pytest.skip(f"--cluster=kind needs Docker, kind, helm and kubectl; missing here: {', '.join(missing)}")
        with tempfile.TemporaryDirectory(prefix="jqm-kind-") as tmp, kind.kind_cluster(Path(tmp)) as path:
            yield path
        return
    reason = cluster.cannot_run_here()
    if reason:
        pytest.skip(f"no --kubeconfig/KUBECONFIG, and {reason}")
    with cluster.session(layout.StateDir.default()) as path:
        yield path


def _tool(name: str) -> str:
    binaries = layout.Binaries.from_cache()
    cached = Path(getattr(binaries, name))
    return str(cached) if cached.exists() else (shutil.which(name) or name)


@pytest.fixture(scope="session")
def kube(kubeconfig: Path, cluster_mode: str) -> Iterator[Kube]:
    """The cluster, with the operator chart installed from this checkout."""
    values = [arg for value in CHART_VALUES for arg in ("--set", value)]
    # The operator image `make images` built (and loaded into kind, on the kind path).
    repository, tag = layout.OPERATOR_IMAGE.split(":")
    values += [
        "--set",
        f"image.repository={repository}",
        "--set",
        f"image.tag={tag}",
        "--set",
        "image.pullPolicy=Never",
    ]
    subprocess.run(
        [_tool("helm"), "upgrade", "--install", RELEASE, str(REPO / "charts/jqm-operator"),
         "--kubeconfig", str(kubeconfig), "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
         "--wait", "--timeout", "300s", *values],
        check=True, capture_output=True, text=True, timeout=360,
    )  # fmt: skip
    handle = Kube(kubeconfig=kubeconfig, kubectl_binary=_tool("kubectl"), mode=cluster_mode)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def node_image() -> str:
    return layout.NODE_IMAGE


_namespaces = itertools.count(1)

DEMO_ECHO = {
    "name": "DemoEcho",
    "description": "prints its parameters, like upstream's demo shell job",
    "pathType": "DEFAULTSHELLCOMMAND",
    "path": 'echo "DemoEcho on $JQM_NODE_NAME, job $JQM_JI_ID:"',  # the values follow as arguments
    "parameters": {"p1": "default-value"},
}
SLEEP = {"name": "Sleep", "pathType": "DEFAULTSHELLCOMMAND", "path": "sleep"}


def cluster_body(name: str, image: str, *, replicas: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "jqm.enioka-community.io/v1alpha1",
        "kind": "JqmCluster",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "jobDefinitions": [DEMO_ECHO, SLEEP],
            "service": {"type": "LoadBalancer"},
            **spec,
        },
    }


MakeCluster = Callable[..., tuple[str, str]]


@pytest.fixture
def make_cluster(kube: Kube, node_image: str, request: pytest.FixtureRequest) -> Iterator[MakeCluster]:
    """``make_cluster(replicas=3, **spec)`` creates a JqmCluster in a fresh namespace, waits until it is
    Available and its load balancer answers from ready pods, and returns ``(namespace, name)``; the
    namespace goes away after the test."""
    scopes: list[Any] = []

    def make(*, replicas: int = 3, name: str = "jqm", **spec: Any) -> tuple[str, str]:
        label = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower())[:30].strip("-")
        scope = namespace(kube, f"e2e-{label}-{next(_namespaces)}-{uuid.uuid4().hex[:5]}")
        ns = scope.__enter__()
        scopes.append(scope)
        kube.create_cluster(ns, cluster_body(name, node_image, replicas=replicas, **spec))
        kube.wait_available(ns, name, replicas=replicas)
        kube.wait_balanced_to_ready_pods(ns, name)  # the new Service reaches kube-proxy a moment later
        return ns, name

    yield make
    for scope in scopes:
        scope.__exit__(None, None, None)
