"""The cluster's ``<cluster>-auth`` Secret: created once with random values, never regenerated.

Server-side apply would fit badly: the values are random, so each reconcile would render new ones. The
Secret is therefore created (POST) when absent, and an existing one is only completed, never rewritten:

* owned by this JqmCluster: keys that are missing are added (``users.yaml`` from the stored password);
* owned by an earlier JqmCluster of the same name (deleted, its Secret not yet garbage-collected):
  every value is generated anew and the Secret taken over, so no two clusters ever share a secret;
* anything else (no owner, another owner): left alone and reported; the nodes are then not rolled out
  with it, since a Secret the operator did not make could hold another cluster's secrets.

No value ever appears in a note, a status field or a log line; notes name keys only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jqm_operator import constants as c
from jqm_operator.builders import Owner, build_auth_secret, child_names
from jqm_operator.credentials import missing_values
from jqm_operator.notes import Note
from jqm_operator.ports import ApiRefused, ClusterApi


@dataclass(frozen=True, kw_only=True)
class AuthSecret:
    """The outcome: a digest of the values the nodes read at start when they may use it, else why not."""

    digest: str | None
    """Changes when the cluster secret or the management token does (Secret recreated or taken over):
    it is part of the configuration checksum, so the nodes restart with the new values together."""
    notes: tuple[Note, ...] = ()
    failure: str | None = None


def _digest(values: Mapping[str, str]) -> str:
    material = "\0".join(values.get(key, "") for key in (c.CLUSTER_SECRET_KEY, c.MANAGEMENT_TOKEN_KEY))
    return hashlib.sha256(material.encode()).hexdigest()


def reveal_command(owner: Owner) -> str:
    """How a user reads the admin password (the operator never shows it)."""
    name = child_names(owner.name)["auth"]
    return f"kubectl get secret {name} -n {owner.namespace} -o jsonpath='{{.data.{c.ADMIN_PASSWORD_KEY}}}' | base64 -d"


def _decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    values = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[key] = base64.b64decode(encoded).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            values[key] = ""  # unreadable counts as missing; it is replaced
    return values


def _controller(secret: Mapping[str, Any]) -> Mapping[str, Any] | None:
    refs = (secret.get("metadata") or {}).get("ownerReferences") or []
    return next((ref for ref in refs if ref.get("controller")), None)


def ensure_auth_secret(*, api: ClusterApi, owner: Owner) -> AuthSecret:
    """Makes sure ``<cluster>-auth`` exists, belongs to ``owner`` and has every key."""
    name = child_names(owner.name)["auth"]
    try:
        live = api.get(kind="Secret", namespace=owner.namespace, name=name)
        if live is None:
            created = _create(api=api, owner=owner)
            if created is not None:
                return created
            live = api.get(kind="Secret", namespace=owner.namespace, name=name)  # made meanwhile elsewhere
            if live is None:
                return AuthSecret(digest=None, failure=f"Secret {name}: exists for create, absent for get")
        controller = _controller(live)
        if controller and controller.get("kind") == c.KIND and controller.get("uid") == owner.uid:
            return _complete(api=api, owner=owner, live=live)
        if controller and controller.get("kind") == c.KIND and controller.get("name") == owner.name:
            return _take_over(api=api, owner=owner)
    except ApiRefused as e:
        return AuthSecret(digest=None, failure=f"Secret {name}: {e.message}")
    return AuthSecret(
        digest=None,
        failure=(
            f"Secret {name} exists but was not created by the operator for this JqmCluster; the nodes will not "
            "use it (it could hold another cluster's secrets): delete or rename it, and the operator creates its own"
        ),
    )


def _create(*, api: ClusterApi, owner: Owner) -> AuthSecret | None:
    """A new Secret; None when one appeared since it was found missing (409)."""
    name = child_names(owner.name)["auth"]
    values = missing_values(existing={}, cluster=owner.name)
    try:
        api.create(build_auth_secret(owner=owner, values=values))
    except ApiRefused as e:
        if e.status != 409:
            raise
        return None
    note = Note(
        type="Normal",
        reason="AuthSecretCreated",
        message=f"Secret {name} created with a random admin password; reveal it with: {reveal_command(owner)}",
    )
    return AuthSecret(digest=_digest(values), notes=(note,))


def _complete(*, api: ClusterApi, owner: Owner, live: Mapping[str, Any]) -> AuthSecret:
    existing = _decoded(live)
    added = missing_values(existing=existing, cluster=owner.name)
    if not added:
        return AuthSecret(digest=_digest(existing))
    name = child_names(owner.name)["auth"]
    api.merge_patch(kind="Secret", namespace=owner.namespace, name=name, patch={"stringData": added})
    note = Note(
        type="Warning",
        reason="AuthSecretCompleted",
        message=f"Secret {name} lacked {', '.join(sorted(added))}; added (existing values kept)",
    )
    return AuthSecret(digest=_digest(existing | added), notes=(note,))


def _take_over(*, api: ClusterApi, owner: Owner) -> AuthSecret:
    name = child_names(owner.name)["auth"]
    values = missing_values(existing={}, cluster=owner.name)
    fresh = build_auth_secret(owner=owner, values=values)
    patch = {
        "metadata": {"ownerReferences": fresh["metadata"]["ownerReferences"], "labels": fresh["metadata"]["labels"]},
        "stringData": fresh["stringData"],
    }
    api.merge_patch(kind="Secret", namespace=owner.namespace, name=name, patch=patch)
    note = Note(
        type="Warning",
        reason="AuthSecretRegenerated",
        message=(
            f"Secret {name} belonged to an earlier JqmCluster of this name; every value was generated anew "
            f"(new admin password: {reveal_command(owner)})"
        ),
    )
    return AuthSecret(digest=_digest(values), notes=(note,))
