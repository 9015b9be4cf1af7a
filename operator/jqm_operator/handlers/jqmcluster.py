"""JqmCluster create/update/resume and the periodic resync: apply children, write the workload status.

There is deliberately no delete handler: every child carries a controller owner reference, so the garbage
collector removes them with the JqmCluster even when the operator is not running. (kopf still adds a
finalizer because of the timers, to stop them cleanly; see ``constants.FINALIZER``.)

The resync timer re-applies the children: server-side apply of an unchanged manifest changes nothing, and a
drifted or deleted child is put back within one interval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from jqm_operator.handlers.common import RESOURCE, operator_identity, owner_of, post
from jqm_operator.handlers.lifecycle import CONFIG, METRICS
from jqm_operator.model import ClusterSpec, parse_spec
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused
from jqm_operator.reconcile import apply_children, workload_status

RETRIES = 20
BACKOFF = 10.0
OPEN_CLUSTER = Note(
    type="Warning",
    reason="AuthenticationDisabled",
    message=(
        "spec.auth.enabled is false: the node APIs are open, anyone who reaches the client port can read, "
        "enqueue, kill and delete jobs"
    ),
)


def _reconcile(
    *,
    body: kopf.Body,
    status: kopf.Status,
    memo: kopf.Memo,
    patch: kopf.Patch,
    logger: Any,
    announce: bool,
    trigger: str,
) -> ClusterSpec:
    """Applies the children and writes the status (counted in the operator's metrics, by ``trigger``)."""
    owner = owner_of(body)
    with METRICS.reconcile(namespace=owner.namespace, cluster=owner.name, trigger=trigger):
        return _apply(body=body, status=status, memo=memo, patch=patch, logger=logger, announce=announce)


def _apply(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, announce: bool
) -> ClusterSpec:
    """Applies the children and writes the status; ``announce`` posts the once-per-change Events."""
    owner = owner_of(body)
    spec = parse_spec(body.get("spec"))
    if announce and not spec.auth.enabled:
        post(body=body, notes=[OPEN_CLUSTER], logger=logger, metrics=METRICS)
    applied = apply_children(
        api=memo.cluster_api,
        owner=owner,
        spec=spec,
        previous_checksum=status.get("configChecksum"),
        operator=operator_identity(CONFIG),
    )
    post(body=body, notes=applied.notes, logger=logger, metrics=METRICS)
    try:
        patch.status.update(
            workload_status(
                api=memo.cluster_api,
                owner=owner,
                spec=spec,
                generation=int(body["metadata"].get("generation") or 0),
                old_status=dict(status),
                applied=applied,
                now=datetime.now(UTC),
            )
        )
    except ApiRefused as e:
        raise kopf.TemporaryError(f"reading the workload status failed: {e}", delay=BACKOFF) from e
    if applied.failures:
        failed = [Note(type="Warning", reason="ApplyFailed", message=failure) for failure in applied.failures]
        post(body=body, notes=failed, logger=logger, metrics=METRICS)
        raise kopf.TemporaryError(
            f"{len(applied.failures)} child(ren) not applied: {applied.failures[0]}", delay=BACKOFF
        )
    return spec


@kopf.on.create(*RESOURCE, retries=RETRIES, backoff=BACKOFF)
def jqmcluster_create(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A new cluster: create every child."""
    spec = _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger, announce=True, trigger="create")
    created = Note(type="Normal", reason="Created", message=f"{spec.replicas} node(s) requested")
    post(body=body, notes=[created], logger=logger, metrics=METRICS)


@kopf.on.update(*RESOURCE, field="spec", retries=RETRIES, backoff=BACKOFF)
def jqmcluster_update(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A spec change (including ``kubectl scale``): roll it out."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger, announce=True, trigger="update")
    message = f"spec generation {body['metadata'].get('generation')} applied"
    post(body=body, notes=[Note(type="Normal", reason="Updated", message=message)], logger=logger, metrics=METRICS)


@kopf.on.resume(*RESOURCE, retries=RETRIES, backoff=BACKOFF)
def jqmcluster_resume(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """Operator (re)start: make sure what exists matches the spec."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger, announce=True, trigger="resume")


@kopf.timer(*RESOURCE, interval=CONFIG.resync_seconds, initial_delay=CONFIG.resync_seconds, retries=3, backoff=5)
def jqmcluster_resync(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """Periodic drift correction and status refresh (readiness changes do not touch the JqmCluster)."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger, announce=False, trigger="resync")
