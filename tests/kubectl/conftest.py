"""The end-to-end fixtures of tests/e2e (cluster, operator chart, JqmClusters in fresh namespaces),
reused as they are for the plugin's end-to-end tests."""

from tests.e2e.conftest import cluster_mode, kube, kubeconfig, make_cluster, node_image

__all__ = ["cluster_mode", "kube", "kubeconfig", "make_cluster", "node_image"]
