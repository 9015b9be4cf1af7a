"""Helpers shared by the handler modules: owner identity, Events, the resource selector."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf

from jqm_operator import constants as c
from jqm_operator.builders import OperatorIdentity, Owner
from jqm_operator.config import OperatorConfig
from jqm_operator.metrics import OperatorMetrics
from jqm_operator.notes import Note

RESOURCE = (c.GROUP, c.VERSION, c.PLURAL)


def owner_of(body: kopf.Body) -> Owner:
    meta = body["metadata"]
    return Owner(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"])


def operator_identity(config: OperatorConfig) -> OperatorIdentity | None:
    """This operator's pods, when the chart said which they are (it sets both variables)."""
    if not config.pod_namespace or not config.pod_labels:
        return None
    return OperatorIdentity(
        namespace=config.pod_namespace, pod_labels=dict(config.pod_labels), management_from=config.management_from
    )


def post(*, body: kopf.Body, notes: Iterable[Note], logger: Any, metrics: OperatorMetrics) -> None:
    """Each note becomes a Kubernetes Event on the JqmCluster and a log line saying the same (and is counted)."""
    owner = owner_of(body)
    for note in notes:
        kopf.event(body, type=note.type, reason=note.reason, message=note.message)
        metrics.event(namespace=owner.namespace, cluster=owner.name, note=note)
        log = logger.warning if note.type == "Warning" else logger.info
        log(f"{note.reason}: {note.message}")
