"""The pre-delete cleanup: delete every JqmCluster, release kopf's finalizer only if the operator does not."""

from __future__ import annotations

from typing import Any

from jqm_operator import constants as c
from jqm_operator.uninstall import delete_all


class FakeCustomObjects:
    """JqmClusters keyed by (namespace, name); ``operator_running`` decides whether deletions complete."""

    def __init__(self, *, operator_running: bool) -> None:
        self.operator_running = operator_running
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, namespace: str, name: str) -> None:
        self.items[(namespace, name)] = {
            "metadata": {"namespace": namespace, "name": name, "finalizers": [c.FINALIZER, "other/finalizer"]}
        }

    def list_cluster_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"items": list(self.items.values())}

    def delete_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **kwargs: Any
    ) -> None:
        if self.operator_running:
            del self.items[(namespace, name)]
        else:
            self.items[(namespace, name)]["metadata"]["deletionTimestamp"] = "now"

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any], **kwargs: Any
    ) -> None:
        self.patches.append((namespace, name, body))


def test_deletes_everything_and_leaves_finalizers_to_a_running_operator() -> None:
    api = FakeCustomObjects(operator_running=True)
    api.add("a", "one")
    api.add("b", "two")
    assert delete_all(api=api, timeout=5, poll=0) == 2  # type: ignore[arg-type]
    assert api.items == {} and api.patches == []


def test_releases_only_its_own_finalizer_when_no_operator_answers() -> None:
    api = FakeCustomObjects(operator_running=False)
    api.add("a", "one")
    assert delete_all(api=api, timeout=0, poll=0) == 1  # type: ignore[arg-type]
    assert api.patches == [("a", "one", {"metadata": {"finalizers": ["other/finalizer"]}})]
