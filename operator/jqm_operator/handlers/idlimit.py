"""One timer per JqmCluster (never per pod) watching its nodes; see :mod:`jqm_operator.nodetimer`.

Each tick reads every node's ``/node/status`` once, and from it: restarts nodes near their ID limit,
recovers nodes drained by someone else, posts an Event per handover, keeps the pods' deletion costs,
and refreshes ``status.nodes``, ``status.highestIdUsagePercent`` and the conditions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from jqm_operator.decisions import restart as r
from jqm_operator.handlers.common import RESOURCE, owner_of, post
from jqm_operator.handlers.lifecycle import CONFIG, METRICS
from jqm_operator.model import parse_spec
from jqm_operator.nodetimer import run_cycle
from jqm_operator.ports import ApiRefused


@kopf.timer(*RESOURCE, interval=CONFIG.idlimit_seconds, retries=5, backoff=10)
def jqmcluster_idlimit(*, body: kopf.Body, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    """Observe the nodes, take the steps due now, record them."""
    owner = owner_of(body)
    with METRICS.node_check(namespace=owner.namespace, cluster=owner.name):
        try:
            cycle = run_cycle(
                api=memo.cluster_api,
                nodes=memo.node_api,
                owner=owner,
                spec=parse_spec(body.get("spec")),
                now=datetime.now(UTC),
            )
        except ApiRefused as e:
            raise kopf.TemporaryError(f"node check failed: {e}", delay=10) from e
    METRICS.record_check(namespace=owner.namespace, cluster=owner.name, check=cycle.check)
    post(body=body, notes=cycle.notes, logger=logger, metrics=METRICS)
    if cycle.decision.action == r.BLOCKED:
        logger.info(cycle.decision.message)
    patch.status.update(cycle.status)
