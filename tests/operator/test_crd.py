"""Structural checks of crds/jqmcluster.yaml: what `kubectl explain`, `kubectl scale` and the status need."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
import yaml

from jqm_operator import constants as c
from jqm_operator.decisions.drains import Recovery
from jqm_operator.decisions.restart import DrainState, NodeObservation
from jqm_operator.status import Health, compute_conditions, merge_conditions, node_entries
from tests.operator.crdutil import ROOT, defaulted_spec, load_crd, schema

CRD = load_crd()
VERSION = CRD["spec"]["versions"][0]


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, prop in (node.get("properties") or {}).items():
        yield from walk(prop, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def test_names_match_the_code() -> None:
    assert CRD["metadata"]["name"] == f"{c.PLURAL}.{c.GROUP}"
    assert CRD["spec"]["group"] == c.GROUP
    assert CRD["spec"]["names"]["kind"] == c.KIND
    assert CRD["spec"]["names"]["plural"] == c.PLURAL
    assert CRD["spec"]["names"]["shortNames"] == ["jqmc"]
    assert VERSION["name"] == c.VERSION and VERSION["served"] and VERSION["storage"]


def test_every_field_has_a_description_and_a_type() -> None:
    for path, node in walk(schema()):
        if path in ("", ".metadata") or path.endswith("{}"):
            continue
        assert node.get("description"), f"{path} has no description"
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"


def test_status_and_scale_subresources() -> None:
    assert VERSION["subresources"]["status"] == {}
    assert VERSION["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    status = schema()["properties"]["status"]["properties"]
    assert status["selector"]["type"] == "string" and status["replicas"]["type"] == "integer"


def test_printer_columns() -> None:
    columns = {col["name"]: col["jsonPath"] for col in VERSION["additionalPrinterColumns"]}
    assert columns["Ready"] == ".status.readyReplicas"
    assert columns["Replicas"] == ".spec.replicas"
    assert columns["ID-Usage-%"] == ".status.highestIdUsagePercent"
    assert columns["Age"] == ".metadata.creationTimestamp"


def test_validation_rules_are_present() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert spec["replicas"]["minimum"] == 0
    threshold = spec["idLimit"]["properties"]["restartThreshold"]
    assert (threshold["minimum"], threshold["exclusiveMinimum"], threshold["maximum"]) == (0, True, 1)
    assert spec["imagePullPolicy"]["enum"] == ["Always", "IfNotPresent", "Never"]
    assert spec["service"]["properties"]["type"]["default"] == "LoadBalancer"
    rules = [rule["rule"] for _, node in walk(schema()) for rule in node.get("x-kubernetes-validations", [])]
    assert any("metadata.name" in rule for rule in rules)
    assert any("q.default" in rule for rule in rules)
    env_rule = next(rule for rule in rules if "startsWith" in rule)
    assert f"startsWith('{c.RESERVED_ENV_PREFIX}')" in env_rule  # a pattern, not a list of names
    assert any("self.queues.exists(q, q.name == j.queue)" in " ".join(rule.split()) for rule in rules)
    assert not any("has(self.className)" in rule for rule in rules)  # the default IngressClass may serve it


def test_peer_networks_are_gone() -> None:
    text = (ROOT / "crds" / "jqmcluster.yaml").read_text()
    assert not re.search(r"^\s*\w+CIDRs:", text, flags=re.MULTILINE), "no peer networks field anywhere"
    assert "network" not in schema()["properties"]["spec"]["properties"]


def test_authentication_is_on_unless_turned_off() -> None:
    spec = defaulted_spec({})
    assert spec["auth"] == {"enabled": True}
    assert (
        defaulted_spec({"jobDefinitions": [{"name": "x", "path": "y"}]})["jobDefinitions"][0]["parametersAsShellCode"]
        is False
    )
    description = schema()["properties"]["spec"]["properties"]["jobDefinitions"]["items"]["properties"][
        "parametersAsShellCode"
    ]["description"]
    assert "DANGEROUS" in description and "any command" in description


def validator() -> jsonschema.Draft4Validator:
    # OpenAPI v3 minus the x-kubernetes extensions is close enough to draft 4 for value checks (not CEL).
    return jsonschema.Draft4Validator(schema())


def test_example_and_defaults_validate() -> None:
    example = yaml.safe_load((ROOT / "examples" / "jqmcluster.yaml").read_text())
    example["spec"] = defaulted_spec(example["spec"])
    validator().validate(example)
    assert example["spec"]["replicas"] == 4


@pytest.mark.parametrize(
    "bad",
    [
        {"replicas": -1},
        {"idLimit": {"restartThreshold": 0}},
        {"idLimit": {"restartThreshold": 1.5}},
        {"imagePullPolicy": "Sometimes"},
        {"service": {"type": "ExternalName"}},
        {"jobDefinitions": [{"name": "x", "path": "y", "pathType": "FS"}]},
        {"pod": {"env": [{"name": "1BAD"}]}},
        {"pod": {"labels": {"a": "not a valid value"}}},
        {"pod": {"imagePullSecrets": ["Not_A_Name"]}},
        {"pod": {"workDirSizeLimit": "1 GB"}},
        {"limits": {"workDirSizeLimit": "lots"}},
        {"limits": {"maxInputFiles": -1}},
        {"history": {"maxAgeSeconds": -5}},
        {"nodeConfig": {"handoverSeconds": 999999}},
        {"ingress": {"className": "Upper_Case"}},
        {"auth": {"usersSecretName": "has space"}},
        {"auth": {"tls": {}}},
        {"networkPolicy": {"clientFrom": [{"ipBlock": {"cidr": "everywhere"}}]}},
        {"jobDefinitions": [{"name": "x", "path": "y", "queue": "bad queue"}]},
    ],
)
def test_invalid_specs_are_refused(bad: dict[str, Any]) -> None:
    obj = {"apiVersion": c.API_VERSION, "kind": c.KIND, "metadata": {"name": "x"}, "spec": bad}
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(obj)


def assert_within_schema(value: Any, node: dict[str, Any], path: str = "status") -> None:
    """Every key the operator writes is declared, so the API server prunes nothing."""
    if isinstance(value, dict) and not node.get("x-kubernetes-preserve-unknown-fields"):
        props = node.get("properties") or {}
        for key, item in value.items():
            assert key in props, f"{path}.{key} is not in the status schema"
            if item is not None:
                assert_within_schema(item, props[key], f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            assert_within_schema(item, node["items"], f"{path}[]")


def test_everything_the_operator_writes_to_status_is_declared() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    nodes = [
        NodeObservation(
            pod="p",
            uid="u",
            ip="10.0.0.1",
            ready=True,
            reachable=True,
            ids_used=3,
            id_capacity=10,
            draining=True,
            drain_reason="sigterm",
            running=1,
            queued=2,
        )
    ]
    status = {
        "observedGeneration": 1,
        "replicas": 1,
        "readyReplicas": 1,
        "selector": "a=b",
        "configChecksum": "x",
        "highestIdUsagePercent": 30.0,
        "nodes": node_entries(nodes),
        "conditions": merge_conditions(
            old=None,
            generation=1,
            now=now,
            new=compute_conditions(desired=1, workload=None, health=Health(), restarting=None, auth_enabled=False),
        ),
        "applyFailures": ["Service demo: 422 x"],
        "unexpectedDrains": [Recovery(pod="p", pod_uid="u", since=now, reason="x").to_status()],
        "postedHandovers": [{"pod": "p", "keys": ["t|10.0.0.2"]}],
        "idLimit": {
            "drain": DrainState(pod="p", pod_uid="u", started_at=now).to_status(),
            "restarts": 1,
            "lastRestart": {"pod": "p", "at": "2030-01-01T00:00:00Z", "reason": "Drained"},
        },
    }
    assert_within_schema(status, schema()["properties"]["status"])
    jsonschema.Draft4Validator(schema()["properties"]["status"]).validate(status)


def image_rule() -> str:
    rules = schema()["properties"]["spec"]["properties"]["image"]["x-kubernetes-validations"]
    return re.search(r"matches\('(.*)'\)", rules[0]["rule"]).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("image", "valid"),
    [
        ("jqm-node:latest", True),
        ("jqm-node", True),
        ("registry.example.com:5000/team/jqm-node:1.2.3", True),
        ("localhost:5000/jqm_node__x:v1", True),
        ("jqm-node@sha256:" + "a" * 64, True),
        ("jqm node:latest", False),
        ("Jqm-Node:latest", False),
        ("jqm-node:", False),
        ("jqm-node:latest ", False),
        ("/jqm-node", False),
        ("", False),
    ],
)
def test_image_references(image: str, valid: bool) -> None:
    # The CEL rule's RE2 syntax is a subset Python's re reads the same way; the API server runs the real one.
    assert bool(re.fullmatch(image_rule(), image)) is valid
