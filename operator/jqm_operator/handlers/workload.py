"""Node Deployment events: carry readiness changes to the owning JqmCluster's status without waiting for
the resync timer. An event handler (not a change handler) so kopf writes nothing on the Deployments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from jqm_operator import constants as c
from jqm_operator.builders import Owner
from jqm_operator.ports import ApiRefused
from jqm_operator.reconcile import workload_refresh

NODE_DEPLOYMENTS = {c.LABEL_MANAGED_BY: c.MANAGED_BY, c.LABEL_COMPONENT: "node"}
CONFLICT_RETRIES = 3


def _owner(body: kopf.Body) -> Owner | None:
    for ref in body["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == c.KIND and ref.get("apiVersion") == c.API_VERSION and ref.get("controller"):
            return Owner(name=str(ref["name"]), namespace=body["metadata"]["namespace"], uid=str(ref["uid"]))
    return None


@kopf.on.event("apps", "v1", "deployments", labels=NODE_DEPLOYMENTS)
def deployment_event(*, type: str | None, body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Refreshes ``replicas``, ``readyReplicas`` and the conditions of the Deployment's JqmCluster."""
    owner = _owner(body)
    if owner is None or type in (None, "DELETED"):
        return  # the initial listing is covered by resume handlers; a deleted Deployment is re-applied
    api = memo.cluster_api
    for _attempt in range(CONFLICT_RETRIES):
        try:
            cluster = api.read_cluster(namespace=owner.namespace, name=owner.name)
            fields = workload_refresh(
                api=api, owner=owner, cluster=cluster, deployment=dict(body), now=datetime.now(UTC)
            )
            if fields is None:
                return
            version = cluster["metadata"]["resourceVersion"]
            api.patch_cluster_status(
                namespace=owner.namespace, name=owner.name, status=fields, resource_version=version
            )
        except ApiRefused as e:
            if e.status == 409:
                continue  # another writer was first: recompute from its status
            logger.warning(f"JqmCluster {owner.name}: status not refreshed ({e}); the next resync will")
            return
        logger.debug(f"JqmCluster {owner.name}: {fields['readyReplicas']}/{fields['replicas']} nodes ready")
        return
    logger.info(
        f"JqmCluster {owner.name}: status changed {CONFLICT_RETRIES} times under the refresh; the next resync will"
    )
