"""Fixtures for the local cluster's tests: pure units need nothing; integration tests get a running
local cluster (started if needed, stopped after only if the tests started it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from jqm_localcluster import cluster, layout
from tests.waiting import wait_until


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    reason = cluster.cannot_run_here()
    if reason:
        pytest.skip(reason)
    with cluster.session(layout.StateDir.default()) as path:
        yield path


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(str(kubeconfig))


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace, deleted after the test (with everything in it), once its default ServiceAccount
    exists: the API server refuses pods in a namespace the ServiceAccount controller has not reached yet."""
    name = f"lc-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    wait_until(
        lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items,
        what=f"the default ServiceAccount in {name}",
        timeout=60,
        every=0.1,
    )
    yield name
    core.delete_namespace(name)
