"""``python -m jqm_operator.uninstall``: delete every JqmCluster before the operator goes away.

Run by the chart's pre-delete hook, while the operator still runs: each JqmCluster is deleted, the operator
stops its timers and drops kopf's finalizer, and the garbage collector removes the children (owner
references). If a JqmCluster is still there after the timeout, the operator is evidently not handling it;
its kopf finalizer guards no cleanup, so it is removed here rather than leaving the object stuck forever.
"""

from __future__ import annotations

import argparse
import logging
import time

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from jqm_operator import constants as c
from jqm_operator.kube import REQUEST_TIMEOUT, load_credentials

log = logging.getLogger("jqm_operator.uninstall")


def _clusters(api: client.CustomObjectsApi) -> list[tuple[str, str, list[str]]]:
    found = api.list_cluster_custom_object(c.GROUP, c.VERSION, c.PLURAL, _request_timeout=REQUEST_TIMEOUT)
    items = found.get("items", []) if isinstance(found, dict) else []
    return [
        (item["metadata"]["namespace"], item["metadata"]["name"], list(item["metadata"].get("finalizers") or []))
        for item in items
    ]


def _drop_finalizer(api: client.CustomObjectsApi, namespace: str, name: str, finalizers: list[str]) -> None:
    remaining = [f for f in finalizers if f != c.FINALIZER]
    log.warning(f"{namespace}/{name} still exists; removing the kopf finalizer (it guards no cleanup)")
    api.patch_namespaced_custom_object(
        c.GROUP,
        c.VERSION,
        namespace,
        c.PLURAL,
        name,
        {"metadata": {"finalizers": remaining or None}},
        _content_type="application/merge-patch+json",
        _request_timeout=REQUEST_TIMEOUT,
    )


def delete_all(*, api: client.CustomObjectsApi, timeout: float, poll: float = 2.0) -> int:
    """Deletes every JqmCluster and waits for them to go; returns how many there were."""
    clusters = _clusters(api)
    for namespace, name, _ in clusters:
        log.info(f"deleting JqmCluster {namespace}/{name}")
        try:
            api.delete_namespaced_custom_object(
                c.GROUP, c.VERSION, namespace, c.PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as e:
            if e.status != 404:
                raise
    deadline = time.monotonic() + timeout
    while (left := _clusters(api)) and time.monotonic() < deadline:
        time.sleep(poll)
    for namespace, name, finalizers in left:
        if c.FINALIZER in finalizers:
            _drop_finalizer(api, namespace, name, finalizers)
    return len(clusters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the operator")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    count = delete_all(api=client.CustomObjectsApi(load_credentials()), timeout=args.timeout)
    log.info(f"{count} JqmCluster(s) deleted")


if __name__ == "__main__":
    main()
