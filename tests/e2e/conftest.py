"""End-to-end fixtures: a kubeconfig for the cluster under test.

`--kubeconfig PATH` (or $KUBECONFIG) tests that cluster; without either, the local cluster
(cluster/jqm_localcluster) is started for the session, and stopped after it if the session started it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jqm_localcluster import cluster, layout


def _local_cluster_missing() -> str | None:
    missing = layout.Binaries.from_cache().missing()
    if missing:
        return f"no --kubeconfig/KUBECONFIG and the local cluster is not built (make cluster-build): {missing[0]}"
    if os.geteuid() != 0:
        return "no --kubeconfig/KUBECONFIG and the local cluster's process kubelet needs root"
    return None


@pytest.fixture(scope="session")
def kubeconfig(request: pytest.FixtureRequest) -> Iterator[Path]:
    given = request.config.getoption("--kubeconfig", default=None) or os.environ.get("KUBECONFIG")
    if given:
        yield Path(given)
        return
    reason = _local_cluster_missing()
    if reason:
        pytest.skip(reason)
    with cluster.session(layout.StateDir.default()) as path:
        yield path
