"""JqmCluster create/update/resume and the periodic resync: apply children, write the workload status.

There is deliberately no delete handler: every child carries a controller owner reference, so the garbage
collector removes them with the JqmCluster even when the operator is not running. (kopf still adds a
finalizer because of the timers, to stop them cleanly; see ``constants.FINALIZER``.)

The resync timer re-applies the children: server-side apply of an unchanged manifest changes nothing, and a
drifted or deleted child is put back within one interval.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from jqm_operator.handlers.common import RESOURCE, owner_of, post
from jqm_operator.handlers.lifecycle import CONFIG
from jqm_operator.model import parse_spec
from jqm_operator.reconcile import apply_children, workload_status

RETRIES = 20
BACKOFF = 10.0


def _reconcile(*, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any) -> None:
    owner = owner_of(body)
    spec = parse_spec(body.get("spec"))
    generation = int(body["metadata"].get("generation") or 0)
    error: str | None = None
    checksum: str | None = None
    try:
        applied = apply_children(
            api=memo.cluster_api, owner=owner, spec=spec, previous_checksum=status.get("configChecksum")
        )
        checksum = applied.checksum
        post(body=body, notes=applied.notes, logger=logger)
    except ApiException as e:
        error = f"applying the children failed: {_explain(e)}"
    patch.status.update(
        workload_status(
            api=memo.cluster_api,
            owner=owner,
            spec=spec,
            generation=generation,
            old_status=dict(status),
            checksum=checksum,
            apply_error=error,
            now=datetime.now(UTC),
        )
    )
    if error:
        kopf.event(body, type="Warning", reason="ApplyFailed", message=error)
        raise kopf.TemporaryError(error, delay=BACKOFF)


def _explain(error: ApiException) -> str:
    """The API server's own message (e.g. which field of the Deployment is invalid), else the status."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"{error.status} {message or error.reason}"


@kopf.on.create(*RESOURCE, retries=RETRIES, backoff=BACKOFF)
def jqmcluster_create(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A new cluster: create every child."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger)
    kopf.event(body, type="Normal", reason="Created", message=f"{body['spec'].get('replicas')} node(s) requested")


@kopf.on.update(*RESOURCE, field="spec", retries=RETRIES, backoff=BACKOFF)
def jqmcluster_update(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A spec change (including ``kubectl scale``): roll it out."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger)
    kopf.event(
        body, type="Normal", reason="Updated", message=f"spec generation {body['metadata'].get('generation')} applied"
    )


@kopf.on.resume(*RESOURCE, retries=RETRIES, backoff=BACKOFF)
def jqmcluster_resume(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """Operator (re)start: make sure what exists matches the spec."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger)


@kopf.timer(*RESOURCE, interval=CONFIG.resync_seconds, initial_delay=CONFIG.resync_seconds, retries=3, backoff=5)
def jqmcluster_resync(
    *, body: kopf.Body, status: kopf.Status, memo: kopf.Memo, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """Periodic drift correction and status refresh (readiness changes do not touch the JqmCluster)."""
    _reconcile(body=body, status=status, memo=memo, patch=patch, logger=logger)
