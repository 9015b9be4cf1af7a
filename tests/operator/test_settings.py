"""kopf settings the operator applies at start-up."""

from __future__ import annotations

import logging

import kopf
import pytest

from jqm_operator import constants as c
from jqm_operator.config import OperatorConfig
from jqm_operator.handlers.lifecycle import apply_settings


def test_settings() -> None:
    settings = kopf.OperatorSettings()
    apply_settings(settings=settings, config=OperatorConfig.from_env({"JQM_OPERATOR_WATCH_TIMEOUT_SECONDS": "100"}))
    assert (settings.watching.server_timeout, settings.watching.client_timeout) == (100, 130)
    assert settings.watching.connect_timeout and settings.networking.request_timeout
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert isinstance(settings.persistence.diffbase_storage, kopf.AnnotationsDiffBaseStorage)
    assert settings.persistence.progress_storage.prefix == c.KOPF_ANNOTATION_PREFIX
    assert settings.persistence.finalizer == c.FINALIZER
    assert settings.posting.level == logging.WARNING
    assert settings.peering.clusterwide is True


def test_handlers_are_registered_with_retries_and_one_idlimit_timer() -> None:
    import jqm_operator.handlers  # noqa: F401  (registers the handlers in kopf's default registry)

    registry = kopf.get_default_registry()
    changing = {h.id: h for h in registry._changing.get_all_handlers() if h.fn.__module__.startswith("jqm_")}
    spawning = {h.id: h for h in registry._spawning.get_all_handlers() if h.fn.__module__.startswith("jqm_")}
    assert {"jqmcluster_create", "jqmcluster_update/spec", "jqmcluster_resume"} <= set(changing)
    assert all(h.retries and h.backoff for h in changing.values())
    assert set(spawning) == {"jqmcluster_resync", "jqmcluster_idlimit"}
    assert all(h.retries and h.backoff for h in spawning.values())
    assert not any(h.requires_finalizer for h in changing.values())  # no delete handler: owner refs clean up
    watching = {h.id for h in registry._watching.get_all_handlers() if h.fn.__module__.startswith("jqm_")}
    assert watching == {"deployment_event"}


def test_api_errors_carry_the_api_servers_message() -> None:
    from kubernetes.client.exceptions import ApiException

    from jqm_operator.kube import refusals
    from jqm_operator.ports import ApiRefused

    error = ApiException(status=422, reason="Unprocessable Entity")
    error.body = '{"kind": "Status", "message": "Deployment.apps \\"x\\" is invalid: spec.template..."}'
    with pytest.raises(ApiRefused) as refused, refusals():
        raise error
    assert (refused.value.status, str(refused.value)) == (422, '422 Deployment.apps "x" is invalid: spec.template...')
    error.body = "not json"
    with pytest.raises(ApiRefused, match=r"^422 Unprocessable Entity$"), refusals():
        raise error
    with pytest.raises(ApiRefused, match=r"^0 API server unreachable"), refusals():
        raise ConnectionRefusedError("refused")


def test_operator_identity_comes_from_the_chart() -> None:
    from jqm_operator.handlers.common import operator_identity

    env = {"JQM_OPERATOR_POD_NAMESPACE": "jqm-system", "JQM_OPERATOR_POD_LABELS": "a=b, c=d"}
    identity = operator_identity(OperatorConfig.from_env(env))
    assert identity is not None and identity.namespace == "jqm-system" and identity.pod_labels == {"a": "b", "c": "d"}
    assert operator_identity(OperatorConfig.from_env({})) is None
    with pytest.raises(ValueError, match="not key=value"):
        OperatorConfig.from_env({"JQM_OPERATOR_POD_LABELS": "a"})
