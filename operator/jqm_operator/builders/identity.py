"""Who the nodes are to the API server and to each other: the auth Secret and the ID ledger's access.

* ``<cluster>-auth`` (a Secret, created once by :mod:`jqm_operator.reconcile`, never applied: its values
  are random and must not change);
* the ID ledger ``<cluster>-id-ledger`` (a ConfigMap applied *without* ``data``: server-side apply then
  never touches the entries the nodes write), and the ServiceAccount, Role and RoleBinding that let the
  node pods get, update and patch that one ConfigMap and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jqm_operator.builders.meta import Owner, child_names, common
from jqm_operator.builders.render import render


def build_auth_secret(*, owner: Owner, values: Mapping[str, str]) -> dict[str, Any]:
    """The ``<cluster>-auth`` Secret holding ``values`` (as ``stringData``)."""
    return render(
        "secret.yaml.j2", name=child_names(owner.name)["auth"], string_data=dict(values), **common(owner, "auth")
    )


def ledger_reference(owner: Owner) -> str:
    """``JQM_ID_LEDGER`` of the node pods."""
    return f"configmap:{owner.namespace}/{child_names(owner.name)['ledger']}"


def build_ledger_configmap(*, owner: Owner) -> dict[str, Any]:
    """The ID ledger: labels and owner reference only; its data belongs to the nodes."""
    return render("configmap.yaml.j2", name=child_names(owner.name)["ledger"], data=None, **common(owner, "ledger"))


def build_node_service_account(*, owner: Owner) -> dict[str, Any]:
    return render("serviceaccount.yaml.j2", name=child_names(owner.name)["node_identity"], **common(owner, "node"))


def build_node_role(*, owner: Owner) -> dict[str, Any]:
    """Read and update the ledger, by name: a node can neither create, list nor touch another object."""
    rules = [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [child_names(owner.name)["ledger"]],
            "verbs": ["get", "update", "patch"],
        }
    ]
    return render("role.yaml.j2", name=child_names(owner.name)["node_identity"], rules=rules, **common(owner, "node"))


def build_node_role_binding(*, owner: Owner) -> dict[str, Any]:
    name = child_names(owner.name)["node_identity"]
    return render("rolebinding.yaml.j2", name=name, role=name, service_account=name, **common(owner, "node"))
