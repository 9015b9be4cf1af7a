"""Operator start-up: kopf settings, API clients in kopf's memo, the liveness probe.

Settings and why:

* watch timeouts on both sides (server asks the API server to end each watch, client enforces it): a
  silently dead watch stream is kopf's best-known failure, it looks healthy and sees nothing;
* kopf's handler progress and diff-base live in annotations under our own prefix, because the status
  schema is strict (the API server would prune anything kopf wrote there);
* kopf posts Events only for warnings: the handlers post the Events a user needs themselves;
* our own finalizer name, documented as safe to remove by hand (it guards no cleanup).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from jqm_operator import constants as c
from jqm_operator.config import OperatorConfig
from jqm_operator.kube import KubeClusterApi, load_credentials
from jqm_operator.metrics import OperatorMetrics
from jqm_operator.metricsserver import serve_metrics
from jqm_operator.nodeapi import node_api

CONFIG = OperatorConfig.from_env(os.environ)
METRICS = OperatorMetrics(stale_after=max(60.0, 4 * CONFIG.idlimit_seconds))
"""What this operator process did and saw; served at /metrics (:mod:`jqm_operator.metricsserver`)."""


def apply_settings(*, settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """Applies the operator's kopf settings (separate from start-up so tests can check them)."""
    settings.watching.server_timeout = config.watch_server_timeout
    settings.watching.client_timeout = config.watch_client_timeout
    settings.watching.connect_timeout = config.connect_timeout
    settings.networking.connect_timeout = config.connect_timeout
    settings.networking.request_timeout = config.request_timeout
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.KOPF_ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.KOPF_ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = c.FINALIZER
    settings.posting.level = logging.WARNING  # only kopf's own log lines; kopf.event() is never filtered
    settings.posting.reporting_component = c.MANAGED_BY
    settings.queueing.error_delays = (1, 5, 15, 30, 60)
    settings.peering.stealth = True
    # One ClusterKopfPeering serves both cluster-wide and namespaced installs (the chart creates it).
    settings.peering.clusterwide = True


@kopf.on.startup()
def operator_startup(*, settings: kopf.OperatorSettings, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Configures kopf and opens the API clients shared by all handlers."""
    apply_settings(settings=settings, config=CONFIG)
    api_client = load_credentials()
    memo.cluster_api = KubeClusterApi(api_client=api_client)
    memo.node_api = node_api(mode=CONFIG.node_access, api_client=api_client)
    scope = "all namespaces" if CONFIG.clusterwide else ", ".join(CONFIG.namespaces)
    peering = f"peering {CONFIG.peering!r} with priority {CONFIG.priority}" if CONFIG.peering else "unpeered"
    logger.info(f"jqm-operator watching {scope}, {peering}, node access {CONFIG.node_access}")


@kopf.on.probe(id="clients")
def operator_probe(*, memo: kopf.Memo, **_: Any) -> bool:
    """Liveness detail: the API clients exist (kopf answers the probe only while its loop runs)."""
    return hasattr(memo, "cluster_api")


@kopf.on.startup()
async def operator_metrics_start(*, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Serves /metrics on its own port (``JQM_OPERATOR_METRICS_LISTEN``), unless that is empty."""
    address = CONFIG.metrics_address
    if address is None:
        logger.info("operator metrics not served (JQM_OPERATOR_METRICS_LISTEN is empty)")
        return
    try:
        memo.metrics_runner = await serve_metrics(METRICS, host=address[0], port=address[1])
    except OSError as e:  # the port is taken: the operator still does its work, without metrics
        logger.error(f"operator metrics not served: cannot listen on {address[0]}:{address[1]}: {e}")
        return
    logger.info(f"operator metrics at http://{address[0]}:{address[1]}/metrics")


@kopf.on.cleanup()
async def operator_metrics_stop(*, memo: kopf.Memo, **_: Any) -> None:
    runner = getattr(memo, "metrics_runner", None)
    if runner is not None:
        await runner.cleanup()
