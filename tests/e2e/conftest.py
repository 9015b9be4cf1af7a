"""End-to-end fixtures: the cluster under test, the operator installed on it, and JqmClusters.

`--kubeconfig PATH` (or $KUBECONFIG) tests that cluster; without either, `--cluster=local` (default)
starts the local cluster (cluster/jqm_localcluster) for the session and stops it after it if the
session started it, and `--cluster=kind` creates a kind cluster (Docker) and loads the images of
`make images` into it, with the local cluster's ingress controller. The operator chart is installed
(or upgraded) in every case from the image `make images` built, with a short ID-limit check period.
"""

from __future__ import annotations

import itertools
import json
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
from tests.e2e.kube import RESTRICTED, Kube
from tests.e2e.kube import namespace as make_namespace
from tests.e2e.load import FIGURES

REPO = Path(__file__).resolve().parents[2]
RELEASE, OPERATOR_NAMESPACE = "jqm-operator", "jqm-system"
# Operator settings for tests: look at node IDs every 2 s instead of 15.
CHART_VALUES = ("idLimitCheckSeconds=2", "resyncSeconds=10")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures of the load scenarios (tests/e2e/load.py), whatever their outcome."""
    if not FIGURES:
        return
    terminalreporter.section("jobs under load: lost, duplicates, client errors")
    for figures in FIGURES:
        terminalreporter.write_line(json.dumps(figures))


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


def _restricted_namespace(kubeconfig: Path, name: str) -> None:
    """The operator's namespace, with Pod Security "restricted" enforced: its pods must pass it too."""
    kubectl = [_tool("kubectl"), "--kubeconfig", str(kubeconfig)]
    labels = [f"{key}={value}" for key, value in RESTRICTED.items()]
    exists = subprocess.run([*kubectl, "get", "namespace", name], capture_output=True, timeout=60, check=False)
    if exists.returncode != 0:
        subprocess.run([*kubectl, "create", "namespace", name], check=True, capture_output=True, timeout=60)
    subprocess.run([*kubectl, "label", "--overwrite", "namespace", name, *labels], check=True,
                   capture_output=True, timeout=60)  # fmt: skip


@pytest.fixture(scope="session")
def kube(kubeconfig: Path, cluster_mode: str) -> Iterator[Kube]:
    """The cluster, with the operator chart installed from this checkout."""
    values = [arg for value in CHART_VALUES for arg in ("--set", value)]
    # The operator image `make images` built (and loaded into kind, on the kind path).
    repository, tag = layout.OPERATOR_IMAGE.split(":")
    _restricted_namespace(kubeconfig, OPERATOR_NAMESPACE)
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


class ClusterFactory:
    """``factory(replicas=3, **spec)`` creates a JqmCluster in a fresh namespace (or in ``namespace=``, one
    it made before), waits until it is Available and its load balancer answers from ready pods (unless
    ``wait=False``), and returns ``(namespace, name)``; :meth:`close` deletes the namespaces it made."""

    def __init__(self, kube: Kube, image: str, label: str) -> None:
        self.kube, self.image = kube, image
        self.label = re.sub(r"[^a-z0-9-]+", "-", label.lower())[:30].strip("-")
        self.scopes: list[Any] = []

    def __call__(
        self,
        *,
        replicas: int = 3,
        name: str = "jqm",
        namespace: str | None = None,
        wait: bool = True,
        prepare: Callable[[str], object] | None = None,
        **spec: Any,
    ) -> tuple[str, str]:
        """``prepare(namespace)`` runs before the JqmCluster is created (e.g. to create a Secret it names)."""
        if namespace is None:
            scope = make_namespace(self.kube, f"e2e-{self.label}-{next(_namespaces)}-{uuid.uuid4().hex[:5]}")
            namespace = scope.__enter__()
            self.scopes.append(scope)
        if prepare is not None:
            prepare(namespace)
        self.kube.create_cluster(namespace, cluster_body(name, self.image, replicas=replicas, **spec))
        if wait:
            self.kube.wait_available(namespace, name, replicas=replicas)
            self.kube.wait_balanced_to_ready_pods(namespace, name)  # the new Service reaches kube-proxy later
        return namespace, name

    def close(self) -> None:
        for scope in self.scopes:
            scope.__exit__(None, None, None)


@pytest.fixture
def make_cluster(kube: Kube, node_image: str, request: pytest.FixtureRequest) -> Iterator[MakeCluster]:
    """A :class:`ClusterFactory` whose namespaces go away after the test."""
    factory = ClusterFactory(kube, node_image, request.node.name)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def make_module_cluster(kube: Kube, node_image: str, request: pytest.FixtureRequest) -> Iterator[MakeCluster]:
    """A :class:`ClusterFactory` whose namespaces go away after the module: clusters its tests share."""
    factory = ClusterFactory(kube, node_image, Path(str(request.node.path)).stem)
    yield factory
    factory.close()
