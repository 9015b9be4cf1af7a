"""Options of the whole suite (declared here: pytest reads options only from top-level conftests)."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jqm e2e")
    group.addoption("--kubeconfig", default=None, help="kubeconfig of the cluster to test (default: $KUBECONFIG)")
    group.addoption(
        "--cluster",
        default="local",
        choices=("local", "kind"),
        help="without --kubeconfig: start the local cluster (default) or a kind cluster (needs Docker)",
    )
