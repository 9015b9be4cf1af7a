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
    try:
        fields = workload_refresh(api=memo.cluster_api, owner=owner, deployment=dict(body), now=datetime.now(UTC))
        if fields is not None:
            memo.cluster_api.patch_cluster_status(namespace=owner.namespace, name=owner.name, status=fields)
    except ApiRefused as e:
        logger.warning(f"JqmCluster {owner.name}: status not refreshed ({e}); the next resync will")
        return
    if fields is not None:
        logger.debug(f"JqmCluster {owner.name}: {fields['readyReplicas']}/{fields['replicas']} nodes ready")
