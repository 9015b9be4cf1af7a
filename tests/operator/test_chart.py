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
    "single-unpeered": ["--set", "peering.enabled=false", "--set", "cleanupOnUninstall.enabled=false"],
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
def test_chart_crds_are_identical_to_crds_dir(name: str) -> None:
    assert (CHART / "crds" / name).read_bytes() == (ROOT / "crds" / name).read_bytes(), (
        f"charts/jqm-operator/crds/{name} differs from crds/{name}: copy crds/{name} over it"
    )


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
        if doc["apiVersion"].startswith(("jqm.enioka-community.io/", "kopf.dev/")):
            continue  # custom resources: checked against their CRD elsewhere
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


@needs_helm
def test_default_install_is_least_privilege_and_hardened() -> None:
    docs = documents(render("default"))
    kinds = sorted(d["kind"] for d in docs)
    assert kinds.count("CustomResourceDefinition") == 3 and "JqmCluster" not in kinds
    role = next(d for d in docs if d["kind"] == "ClusterRole" and not d["metadata"]["name"].endswith("cleanup"))
    verbs = {(res, verb) for rule in role["rules"] for res in rule["resources"] for verb in rule["verbs"]}
    assert ("pods", "delete") not in verbs and ("pods/eviction", "create") in verbs
    assert ("pods/proxy", "get") not in verbs  # only with nodeAccess proxy/auto
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role["rules"])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["JQM_OPERATOR_PEERING"] == "jqm-operator" and env["JQM_OPERATOR_NAMESPACES"] == ""
    hook = next(d for d in docs if d["kind"] == "Job")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"


@needs_helm
def test_namespaced_install_grants_roles_only_in_watched_namespaces() -> None:
    docs = documents(render("full"))
    roles = [d for d in docs if d["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    cluster_role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "jqm-jqm-operator")
    assert all("jqmclusters" not in rule["resources"] for rule in cluster_role["rules"])
    assert any("pods/proxy" in rule["resources"] for rule in roles[0]["rules"])
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
