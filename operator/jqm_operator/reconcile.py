"""Reconciliation of one JqmCluster: apply its children, then compute the workload part of its status.

Called on create/update/resume and by the resync timer. Server-side apply makes every call idempotent:
an unchanged manifest is a no-op on the API server, a drifted field is taken back, a deleted child is
recreated. Each child is applied on its own: one refused child never keeps the others from being
applied, and every failure is reported. When the API server refuses to merge the operator's fields into
a child (a hand edit such as a Service port renamed into a duplicate name: 422), the child is replaced
by the operator's version (see :mod:`jqm_operator.builders.repair`), and an Event says so.

Nothing here imports kopf: results carry :class:`Note` values that the handlers turn into Events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jqm_operator import constants as c
from jqm_operator.authsecret import ensure_auth_secret
from jqm_operator.builders import (
    ExternalFacts,
    OperatorIdentity,
    Owner,
    build_children,
    child_names,
    replacement,
    selector_labels,
)
from jqm_operator.decisions.drains import Recovery
from jqm_operator.decisions.pods import pod_problems
from jqm_operator.model import ClusterSpec, parse_spec
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused, ClusterApi
from jqm_operator.status import Health, WorkloadView, compute_conditions, merge_conditions

UNPROCESSABLE = 422


@dataclass(frozen=True, kw_only=True)
class Applied:
    """What :func:`apply_children` did."""

    checksum: str
    notes: tuple[Note, ...] = field(default_factory=tuple)
    failures: tuple[str, ...] = field(default_factory=tuple)
    """One line per child that could not be applied (or deleted), with the API server's reason."""


def _digest(data: Mapping[str, Any] | None) -> str:
    if data is None:
        return "absent"
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _missing(reason: str, message: str) -> Note:
    return Note(type="Warning", reason=reason, message=message)


def _read_facts(*, api: ClusterApi, owner: Owner, spec: ClusterSpec, notes: list[Note]) -> tuple[dict[str, str], bool]:
    """Digests of the job-definition ConfigMaps, and whether the TLS Secret has a CA; warns about
    referenced objects that are missing (the pods cannot start without them). Secret values are not read,
    only their key names."""
    digests: dict[str, str] = {}
    for name in spec.job_definitions_config_maps:
        configmap = api.get(kind="ConfigMap", namespace=owner.namespace, name=name)
        if configmap is None:
            notes.append(
                _missing(
                    "JobDefinitionsMissing",
                    f"ConfigMap {name} (jobDefinitionsFrom) does not exist; node pods cannot start",
                )
            )
        digests[name] = _digest(None if configmap is None else configmap.get("data") or {})
    users = spec.auth.users_secret_name if spec.auth.enabled else None
    if users:
        secret = api.get(kind="Secret", namespace=owner.namespace, name=users)
        if secret is None or c.USERS_KEY not in (secret.get("data") or {}):
            notes.append(
                _missing(
                    "UsersSecretMissing",
                    f"Secret {users} (spec.auth.usersSecretName) has no key {c.USERS_KEY}; node pods cannot start",
                )
            )
    tls_has_ca = False
    if spec.auth.tls_secret_name:
        secret = api.get(kind="Secret", namespace=owner.namespace, name=spec.auth.tls_secret_name)
        keys = set((secret or {}).get("data") or {})
        if not {c.TLS_CERT_KEY, c.TLS_KEY_KEY} <= keys:
            notes.append(
                _missing(
                    "TlsSecretMissing",
                    f"Secret {spec.auth.tls_secret_name} (spec.auth.tls.secretName) has no {c.TLS_CERT_KEY} and "
                    f"{c.TLS_KEY_KEY}; node pods cannot start",
                )
            )
        tls_has_ca = c.TLS_CA_KEY in keys
    return digests, tls_has_ca


def _describe(manifest: Mapping[str, Any]) -> str:
    return f"{manifest['kind']} {manifest['metadata']['name']}"


def _apply_one(*, api: ClusterApi, manifest: Mapping[str, Any], replaceable: bool) -> tuple[Note | None, str | None]:
    """Applies one child; on a refused merge, replaces it. Returns (repair note, failure)."""
    try:
        api.apply(manifest)
    except ApiRefused as refused:
        if refused.status != UNPROCESSABLE or not replaceable:
            return None, f"{_describe(manifest)}: {refused}"
        meta = manifest["metadata"]
        try:
            live = api.get(kind=manifest["kind"], namespace=meta["namespace"], name=meta["name"])
            if live is None:
                return None, f"{_describe(manifest)}: {refused}"
            api.replace(replacement(manifest=manifest, live=live))
        except ApiRefused as again:
            return None, f"{_describe(manifest)}: {refused}; replacing it failed too: {again}"
        return (
            Note(
                type="Warning",
                reason="ChildRepaired",
                message=(
                    f"{_describe(manifest)} could not take the operator's fields ({refused.message}); "
                    "replaced it with the operator's version"
                ),
            ),
            None,
        )
    return None, None


def apply_children(
    *,
    api: ClusterApi,
    owner: Owner,
    spec: ClusterSpec,
    previous_checksum: str | None,
    operator: OperatorIdentity | None = None,
) -> Applied:
    """Makes sure the auth Secret exists, then applies every child independently.

    A configuration change is reported, since it rolls the pods. The Deployment is not applied while the
    auth Secret is unusable: its pods would mount a Secret the operator did not make.
    """
    notes: list[Note] = []
    failures: list[str] = []
    try:
        digests, tls_has_ca = _read_facts(api=api, owner=owner, spec=spec, notes=notes)
    except ApiRefused as e:
        digests, tls_has_ca = {}, False
        failures.append(f"reading the objects the nodes use: {e}")
    auth = ensure_auth_secret(api=api, owner=owner)
    notes += auth.notes
    if auth.failure:
        failures.append(auth.failure)
    if spec.network_policy.enabled and operator is None:
        notes.append(
            _missing(
                "NetworkPolicyWithoutOperator",
                "the operator does not know its own pods (JQM_OPERATOR_POD_NAMESPACE, JQM_OPERATOR_POD_LABELS): "
                "the NetworkPolicy admits only spec.networkPolicy.managementFrom to the management port",
            )
        )
    facts = ExternalFacts(
        config_digests=digests, auth_digest=auth.digest or "", tls_has_ca=tls_has_ca, operator=operator
    )
    children = build_children(owner=owner, spec=spec, facts=facts)
    for manifest in children.manifests:
        if manifest["kind"] == "Deployment" and auth.failure:
            failures.append(f"{_describe(manifest)}: not applied while its auth Secret is unusable")
            continue
        key = (manifest["kind"], manifest["metadata"]["name"])
        note, failure = _apply_one(api=api, manifest=manifest, replaceable=key not in children.never_replaced)
        notes += [note] if note else []
        failures += [failure] if failure else []
    for kind, name in children.absent:
        try:
            if api.delete_if_exists(kind=kind, namespace=owner.namespace, name=name):
                notes.append(Note(type="Normal", reason="Deleted", message=f"{kind} {name} removed (disabled in spec)"))
        except ApiRefused as e:
            failures.append(f"{kind} {name}: deleting it (disabled in spec) failed: {e}")
    if previous_checksum and previous_checksum != children.checksum and not failures:
        notes.append(
            Note(type="Normal", reason="ConfigChanged", message="node configuration changed; rolling the nodes")
        )
    return Applied(checksum=children.checksum, notes=tuple(notes), failures=tuple(failures))


def health_of(
    *, pods: Sequence[Mapping[str, Any]], status: Mapping[str, Any], failures: Sequence[str] | None = None
) -> Health:
    """The Degraded inputs: ``failures`` when just computed, else those stored in ``status``."""
    drains = [Recovery.from_status(entry) for entry in status.get("unexpectedDrains") or []]
    return Health(
        apply_failures=tuple(failures if failures is not None else status.get("applyFailures") or ()),
        pod_problems=tuple(pod_problems(pods)),
        unexpected_drains=tuple(d.describe() for d in drains if d is not None),
    )


def conditions_now(
    *,
    api: ClusterApi,
    owner: Owner,
    desired: int,
    status: Mapping[str, Any],
    generation: int,
    now: datetime,
    deployment: Mapping[str, Any] | None = None,
    pods: Sequence[Mapping[str, Any]] | None = None,
    failures: Sequence[str] | None = None,
    auth_enabled: bool | None = None,
) -> tuple[WorkloadView | None, list[dict[str, Any]]]:
    """The Deployment's view and the conditions, from the pods and ``status`` (read fresh by the caller).

    Every writer of conditions (reconcile, Deployment events, the node timer) goes through here, so they
    all compute them from the same inputs.
    """
    if deployment is None:
        deployment = api.get(kind="Deployment", namespace=owner.namespace, name=child_names(owner.name)["deployment"])
    workload = WorkloadView.from_deployment(deployment)
    if pods is None:
        pods = api.list_pods(namespace=owner.namespace, labels=selector_labels(owner.name))
    drain = (status.get("idLimit") or {}).get("drain") or None
    restarting = f"restarting node {drain['pod']} for its ID limit" if drain and drain.get("pod") else None
    conditions = compute_conditions(
        desired=desired,
        workload=workload,
        health=health_of(pods=pods, status=status, failures=failures),
        restarting=restarting,
        auth_enabled=auth_enabled,
    )
    merged = merge_conditions(old=status.get("conditions"), new=conditions, generation=generation, now=now)
    return workload, merged


def workload_status(
    *,
    api: ClusterApi,
    owner: Owner,
    spec: ClusterSpec,
    generation: int,
    old_status: Mapping[str, Any],
    applied: Applied,
    now: datetime,
) -> dict[str, Any]:
    """The status fields owned by reconciliation (the node timer owns ``nodes``, ``idLimit`` and the
    unexpected drains)."""
    workload, conditions = conditions_now(
        api=api,
        owner=owner,
        desired=spec.replicas,
        status=old_status,
        generation=generation,
        now=now,
        failures=applied.failures,
        auth_enabled=spec.auth.enabled,
    )
    status: dict[str, Any] = {
        "replicas": workload.replicas if workload else 0,
        "readyReplicas": workload.ready_replicas if workload else 0,
        "conditions": conditions,
        "selector": ",".join(f"{k}={v}" for k, v in sorted(selector_labels(owner.name).items())),
        "applyFailures": list(applied.failures) or None,
        "configChecksum": applied.checksum,
    }
    if not applied.failures:
        status["observedGeneration"] = generation
    return status


def workload_refresh(
    *, api: ClusterApi, owner: Owner, cluster: Mapping[str, Any], deployment: Mapping[str, Any], now: datetime
) -> dict[str, Any] | None:
    """Status fields to patch when the node Deployment's status changes, or None if nothing changes.

    Lets readiness reach the JqmCluster (and ``kubectl wait --for=condition=Available``) at once instead
    of at the next resync. ``cluster`` is the JqmCluster read fresh by the caller, who writes the result
    conditionally on its resourceVersion: conditions are one list, and another writer's newer list must
    not be replaced by one computed from an older read. Stored apply failures are kept: only
    reconciliation may clear them.
    """
    old = cluster.get("status") or {}
    workload, conditions = conditions_now(
        api=api,
        owner=owner,
        desired=int((deployment.get("spec") or {}).get("replicas") or 0),
        status=old,
        generation=int(old.get("observedGeneration") or 0),
        now=now,
        deployment=deployment,
        auth_enabled=parse_spec(cluster.get("spec")).auth.enabled,
    )
    fields = {
        "replicas": workload.replicas if workload else 0,
        "readyReplicas": workload.ready_replicas if workload else 0,
        "conditions": conditions,
    }
    unchanged = all(old.get(key) == value for key, value in fields.items())
    return None if unchanged else fields
