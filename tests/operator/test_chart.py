"""The chart: CRD copies in sync, `helm template` snapshots, rendered manifests valid for Kubernetes.

Snapshots live in tests/operator/snapshots/; after an intended chart change, refresh them with
``UPDATE_SNAPSHOTS=1 pytest tests/operator/test_chart.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.operator.crdutil import ROOT, defaulted_spec, schema
from tests.operator.psa import restricted_violations

CHART = ROOT / "charts" / "jqm-operator"
SNAPSHOTS = Path(__file__).parent / "snapshots"
RENDERS: dict[str, list[str]] = {
    "default": [],
    "full": [
        "--set",
        "sample.enabled=true",
        "--set",
        "nodeAccess=proxy",
        "--set",
        "replicaCount=2",
        "--set",
        "watchNamespaces={team-a,team-b}",
    ],
    "single-unpeered": [
        "--set",
        "peering.enabled=false",
        "--set",
        "cleanupOnUninstall.enabled=false",
        "--set",
        "networkPolicy.operatorNamespace=operators",
        "--set",
        "networkPolicy.operatorPodLabels.role=jqm-operator",
    ],
    "monitoring": [
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.podMonitor.enabled=true",
        "--set",
        "metrics.dashboard.enabled=true",
        "--set",
        "networkPolicy.managementFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
        "--set",
        "watchNamespaces={team-a}",
    ],
}


def versions() -> dict[str, str]:
    text = (ROOT / "cluster" / "versions.env").read_text() if (ROOT / "cluster" / "versions.env").exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


KUBE_VERSION = versions().get("K8S_VERSION", "v1.33.5").lstrip("v")


def find_helm() -> str | None:
    """$HELM, else the binary cluster/build.sh caches, else helm on PATH."""
    if os.environ.get("HELM"):
        return os.environ["HELM"]
    cache = Path(os.environ.get("JQM_CACHE_DIR") or Path.home() / ".cache" / "jqm-standalone")
    built = cache / f"helm-{versions().get('HELM_VERSION', '')}" / "bin" / "helm"
    return str(built) if built.is_file() else shutil.which("helm")


HELM = find_helm()
needs_helm = pytest.mark.skipif(
    HELM is None, reason="no helm binary: run `make helm-operator` (builds it from the Go module proxy) or set $HELM"
)


def render(name: str) -> str:
    assert HELM is not None
    command = [
        HELM,
        "template",
        "jqm",
        str(CHART),
        "--namespace",
        "jqm-system",
        "--include-crds",
        "--kube-version",
        KUBE_VERSION,
        *RENDERS[name],
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.mark.parametrize("name", ["jqmcluster.yaml", "kopf-peering.yaml"])
def test_chart_crds_are_the_crds_dir_itself(name: str) -> None:
    """One source: the chart's CRDs are links to crds/ (helm follows them when it lints, renders and packages)."""
    chart_crd = CHART / "crds" / name
    assert chart_crd.is_symlink() and chart_crd.resolve() == (ROOT / "crds" / name).resolve()


def test_values_satisfy_their_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(values, json.loads((CHART / "values.schema.json").read_text()))


def test_sample_in_values_is_a_valid_jqmcluster() -> None:
    sample = yaml.safe_load((CHART / "values.yaml").read_text())["sample"]
    obj = {
        "apiVersion": "jqm.enioka-community.io/v1alpha1",
        "kind": "JqmCluster",
        "metadata": {"name": sample["name"]},
        "spec": defaulted_spec(sample["spec"]),
    }
    jsonschema.Draft4Validator(schema()).validate(obj)


@needs_helm
@pytest.mark.parametrize("name", sorted(RENDERS))
def test_helm_template_matches_snapshot(name: str) -> None:
    text = render(name)
    snapshot = SNAPSHOTS / f"{name}.yaml"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(text)
    assert snapshot.exists(), f"no snapshot {snapshot.name}: run with UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text(), f"helm template ({name}) changed: review, then UPDATE_SNAPSHOTS=1"


@needs_helm
@pytest.mark.parametrize("name", sorted(RENDERS))
def test_helm_template_is_valid_kubernetes(name: str) -> None:
    for doc in documents(render(name)):
        if doc["apiVersion"].startswith(("jqm.enioka-community.io/", "kopf.dev/", "monitoring.coreos.com/")):
            continue  # custom resources: checked against their CRD (or below, for Prometheus Operator's) elsewhere
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


NAMESPACED_RULES = {
    ("jqmclusters", frozenset({"get", "list", "watch", "patch", "update"})),
    ("jqmclusters/status", frozenset({"get", "patch", "update"})),
    ("configmaps", frozenset({"get", "create", "patch", "update"})),
    ("services", frozenset({"get", "create", "patch", "update"})),
    ("serviceaccounts", frozenset({"get", "create", "patch", "update"})),
    ("roles", frozenset({"get", "create", "patch", "update"})),
    ("rolebindings", frozenset({"get", "create", "patch", "update"})),
    ("deployments", frozenset({"get", "list", "watch", "create", "patch", "update"})),
    ("poddisruptionbudgets", frozenset({"get", "create", "patch", "update"})),
    ("ingresses", frozenset({"get", "create", "patch", "update", "delete"})),
    ("networkpolicies", frozenset({"get", "create", "patch", "update", "delete"})),
    ("secrets", frozenset({"get", "create", "patch"})),
    ("pods", frozenset({"get", "list", "patch", "delete"})),
    ("pods/eviction", frozenset({"create"})),
    ("events", frozenset({"create", "patch"})),
}
"""Exactly what the operator needs (the chart's _helpers.tpl says why for each); nothing may creep in."""


def rules_of(role: dict[str, Any]) -> set[tuple[str, frozenset[str]]]:
    return {(res, frozenset(rule["verbs"])) for rule in role["rules"] for res in rule["resources"]}


@needs_helm
def test_default_install_is_least_privilege_and_hardened() -> None:
    docs = documents(render("default"))
    kinds = sorted(d["kind"] for d in docs)
    assert kinds.count("CustomResourceDefinition") == 3 and "JqmCluster" not in kinds
    role = next(d for d in docs if d["kind"] == "ClusterRole" and not d["metadata"]["name"].endswith("cleanup"))
    cluster_scoped = {
        ("customresourcedefinitions", frozenset({"list", "watch"})),
        ("namespaces", frozenset({"list", "watch"})),
        ("clusterkopfpeerings", frozenset({"get", "list", "watch", "patch"})),
    }
    assert rules_of(role) == NAMESPACED_RULES | cluster_scoped  # no pods/proxy: only with nodeAccess proxy/auto
    assert not any(rule.get("resourceNames") for rule in role["rules"])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["JQM_OPERATOR_PEERING"] == "jqm-operator" and env["JQM_OPERATOR_NAMESPACES"] == ""
    assert env["JQM_OPERATOR_POD_NAMESPACE"] == "jqm-system"
    labels = dict(pair.split("=") for pair in env["JQM_OPERATOR_POD_LABELS"].split(","))
    assert labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()  # selects its own pods
    hook = next(d for d in docs if d["kind"] == "Job")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"


@needs_helm
@pytest.mark.parametrize("name", sorted(RENDERS))
def test_every_pod_of_the_chart_passes_pod_security_restricted(name: str) -> None:
    pods = [d["spec"]["template"]["spec"] for d in documents(render(name)) if d["kind"] in ("Deployment", "Job")]
    assert pods
    for pod in pods:
        assert restricted_violations(pod) == []


@needs_helm
def test_operator_identity_can_be_given() -> None:
    docs = documents(render("single-unpeered"))
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert (env["JQM_OPERATOR_POD_NAMESPACE"], env["JQM_OPERATOR_POD_LABELS"]) == ("operators", "role=jqm-operator")


@needs_helm
def test_namespaced_install_grants_roles_only_in_watched_namespaces() -> None:
    docs = documents(render("full"))
    roles = [d for d in docs if d["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    cluster_role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "jqm-jqm-operator")
    assert all("jqmclusters" not in rule["resources"] for rule in cluster_role["rules"])
    assert rules_of(roles[0]) == NAMESPACED_RULES | {("pods/proxy", frozenset({"get", "create"}))}
    sample = next(d for d in docs if d["kind"] == "JqmCluster")
    sample["spec"] = defaulted_spec(sample["spec"])
    jsonschema.Draft4Validator(schema()).validate(sample)


@needs_helm
def test_several_replicas_without_peering_are_refused() -> None:
    assert HELM is not None
    result = subprocess.run(
        [
            HELM,
            "template",
            "jqm",
            str(CHART),
            "--kube-version",
            KUBE_VERSION,
            "--set",
            "replicaCount=2",
            "--set",
            "peering.enabled=false",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "peering" in result.stderr
