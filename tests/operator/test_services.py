"""Reconciliation (children, auth Secret, repair, status) against in-memory fakes of the API server."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from jqm_operator import constants as c
from jqm_operator.builders import OperatorIdentity, Owner
from jqm_operator.model import parse_spec
from jqm_operator.reconcile import Applied, apply_children, workload_refresh, workload_status
from tests.operator.fakes import FakeClusterApi, pod

OWNER = Owner(name="demo", namespace="ns", uid="u")
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real iteration count costs a third of a second per Secret; test_credentials checks it."""
    monkeypatch.setattr("jqm_operator.credentials.PBKDF2_ITERATIONS", 1000)


def kinds(api: FakeClusterApi) -> set[tuple[str, str]]:
    return {(kind, name) for kind, _, name in api.objects}


def secret_values(api: FakeClusterApi, name: str = "demo-auth") -> dict[str, str]:
    data = api.objects[("Secret", "ns", name)]["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def test_apply_creates_every_child_and_deletes_a_disabled_ingress() -> None:
    api = FakeClusterApi()
    first = apply_children(
        api=api, owner=OWNER, spec=parse_spec({"ingress": {"enabled": True, "className": "c"}}), previous_checksum=None
    )
    assert first.failures == ()
    assert kinds(api) == {
        ("Secret", "demo-auth"),
        ("ConfigMap", "demo-node-config"),
        ("ConfigMap", "demo-id-ledger"),
        ("ServiceAccount", "demo-node"),
        ("Role", "demo-node"),
        ("RoleBinding", "demo-node"),
        ("Service", "demo-peers"),
        ("Service", "demo"),
        ("PodDisruptionBudget", "demo"),
        ("Deployment", "demo"),
        ("Ingress", "demo"),
    }
    assert [n.reason for n in first.notes] == ["AuthSecretCreated"]
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert ("Ingress", "demo") not in kinds(api)
    assert [n.reason for n in applied.notes] == ["Deleted"]


def test_apply_is_idempotent_and_reports_config_changes() -> None:
    api = FakeClusterApi()
    first = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    again = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=first.checksum)
    assert again.checksum == first.checksum and again.notes == ()
    changed = apply_children(
        api=api, owner=OWNER, spec=parse_spec({"queues": [{"name": "q"}]}), previous_checksum=first.checksum
    )
    assert changed.checksum != first.checksum
    assert [n.reason for n in changed.notes] == ["ConfigChanged"]


def test_referenced_objects_feed_the_checksum_and_missing_ones_warn() -> None:
    api = FakeClusterApi()
    spec = parse_spec(
        {
            "jobDefinitionsFrom": [{"name": "defs"}],
            "auth": {"usersSecretName": "users", "tls": {"secretName": "tls"}},
        }
    )
    missing = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert [(n.type, n.reason) for n in missing.notes if n.type == "Warning"] == [
        ("Warning", "JobDefinitionsMissing"),
        ("Warning", "UsersSecretMissing"),
        ("Warning", "TlsSecretMissing"),
    ]
    api.objects[("ConfigMap", "ns", "defs")] = {"data": {"a.yaml": "- name: x\n  path: y\n"}}
    api.objects[("Secret", "ns", "users")] = {"data": {"users.yaml": "dXNlcnM6IFtd"}}
    api.objects[("Secret", "ns", "tls")] = {"data": {"tls.crt": "eA==", "tls.key": "eA==", "ca.crt": "eA=="}}
    present = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert [n for n in present.notes if n.type == "Warning"] == []
    env = {
        e["name"] for e in api.objects[("Deployment", "ns", "demo")]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert "JQM_TLS_CA_FILE" in env
    api.objects[("ConfigMap", "ns", "defs")] = {"data": {"a.yaml": "- name: x\n  path: z\n"}}
    edited = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert len({missing.checksum, present.checksum, edited.checksum}) == 3


def test_one_refused_child_does_not_stop_the_others_and_every_failure_is_reported() -> None:
    api = FakeClusterApi()
    api.refuse_apply[("Role", "demo-node")] = 403
    api.refuse_apply[("Service", "demo-peers")] = 500
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert len(applied.failures) == 2
    assert applied.failures[0].startswith("Role demo-node: 403") and applied.failures[1].startswith(
        "Service demo-peers"
    )
    assert {("Deployment", "demo"), ("Service", "demo"), ("RoleBinding", "demo-node")} <= kinds(api)


def test_a_child_the_api_server_cannot_merge_is_replaced_and_reported() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    api.refuse_apply[("Service", "demo")] = 422  # e.g. its port renamed by hand into a duplicate name
    repaired = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert repaired.failures == ()
    assert [(n.type, n.reason) for n in repaired.notes] == [("Warning", "ChildRepaired")]
    assert "Service demo" in repaired.notes[0].message
    assert ("replace", "Service/demo") in api.calls
    again = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert again.notes == ()  # repaired for good


def test_a_child_that_cannot_be_replaced_either_is_a_failure() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    api.refuse_apply[("Deployment", "demo")] = 422
    api.refuse_replace.add(("Deployment", "demo"))
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert applied.failures == (
        "Deployment demo: 422 Deployment demo is invalid; replacing it failed too: 422 immutable",
    )


def test_the_id_ledger_is_never_replaced_and_keeps_the_nodes_entries() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    api.objects[("ConfigMap", "ns", "demo-id-ledger")]["data"] = {"10.244.0.5": '{"next":1001}'}
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert api.objects[("ConfigMap", "ns", "demo-id-ledger")]["data"] == {"10.244.0.5": '{"next":1001}'}
    api.refuse_apply[("ConfigMap", "demo-id-ledger")] = 422
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert ("replace", "ConfigMap/demo-id-ledger") not in api.calls
    assert applied.failures and applied.failures[0].startswith("ConfigMap demo-id-ledger: 422")


def test_the_auth_secret_is_created_once_and_never_regenerated() -> None:
    api = FakeClusterApi()
    first = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    values = secret_values(api)
    assert set(values) == {"admin-password", "users.yaml", "cluster-secret", "management-token"}
    assert len(values["admin-password"]) >= 24 and len(values["cluster-secret"]) == 64
    assert "passwordHash: pbkdf2-sha256$" in values["users.yaml"]
    secret = api.objects[("Secret", "ns", "demo-auth")]
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "u"
    assert (
        "kubectl get secret demo-auth -n ns -o jsonpath='{.data.admin-password}' | base64 -d" in first.notes[0].message
    )
    for _ in range(3):
        apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert secret_values(api) == values
    assert [call for call in api.calls if call[1] == "Secret/demo-auth"] == [("create", "Secret/demo-auth")]


def test_missing_keys_are_added_and_existing_values_kept() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    before = secret_values(api)
    data = api.objects[("Secret", "ns", "demo-auth")]["data"]
    del data["users.yaml"], data["management-token"]
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    after = secret_values(api)
    assert [n.reason for n in applied.notes] == ["AuthSecretCompleted"]
    assert "management-token, users.yaml" in applied.notes[0].message
    assert after["admin-password"] == before["admin-password"] and after["cluster-secret"] == before["cluster-secret"]
    assert after["management-token"] != before["management-token"] and "passwordHash" in after["users.yaml"]


def test_a_secret_left_by_an_earlier_cluster_of_the_same_name_is_regenerated() -> None:
    earlier, api = FakeClusterApi(), FakeClusterApi()
    apply_children(
        api=earlier, owner=Owner(name="demo", namespace="ns", uid="old"), spec=parse_spec({}), previous_checksum=None
    )
    api.objects[("Secret", "ns", "demo-auth")] = earlier.objects[("Secret", "ns", "demo-auth")]
    old = secret_values(api)
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert [n.reason for n in applied.notes] == ["AuthSecretRegenerated"]
    assert api.objects[("Secret", "ns", "demo-auth")]["metadata"]["ownerReferences"][0]["uid"] == "u"
    new = secret_values(api)
    assert all(new[key] != old[key] for key in ("admin-password", "cluster-secret", "management-token"))


def test_two_clusters_never_share_a_secret() -> None:
    api = FakeClusterApi()
    apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    apply_children(
        api=api, owner=Owner(name="other", namespace="ns", uid="u2"), spec=parse_spec({}), previous_checksum=None
    )
    one, two = secret_values(api), secret_values(api, "other-auth")
    assert all(one[key] != two[key] for key in ("admin-password", "cluster-secret", "management-token"))


@pytest.mark.parametrize(
    "owners",
    [[], [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "y", "controller": True}]],
    ids=["no owner", "another owner"],
)
def test_a_secret_the_operator_did_not_make_is_neither_used_nor_touched(owners: list[dict[str, Any]]) -> None:
    api = FakeClusterApi()
    foreign = {"metadata": {"name": "demo-auth", "ownerReferences": owners}, "data": {"cluster-secret": "c2hhcmVk"}}
    api.objects[("Secret", "ns", "demo-auth")] = foreign
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert api.objects[("Secret", "ns", "demo-auth")] == foreign
    assert ("Deployment", "demo") not in kinds(api) and ("Service", "demo") in kinds(api)
    assert any("was not created by the operator" in f for f in applied.failures)
    assert any(f.startswith("Deployment demo: not applied") for f in applied.failures)


def test_no_secret_value_reaches_a_note_or_the_status() -> None:
    api = FakeClusterApi()
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    api.objects[("Secret", "ns", "demo-auth")]["data"].pop("users.yaml")
    completed = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    status = workload_status(
        api=api, owner=OWNER, spec=parse_spec({}), generation=1, old_status={}, applied=applied, now=NOW
    )
    told = " ".join(n.message for n in applied.notes + completed.notes) + str(status)
    for value in secret_values(api).values():
        assert value not in told
        assert base64.b64encode(value.encode()).decode() not in told


def test_network_policy_without_the_operators_identity_warns() -> None:
    api = FakeClusterApi()
    spec = parse_spec({"networkPolicy": {"enabled": True}})
    applied = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    assert "NetworkPolicyWithoutOperator" in [n.reason for n in applied.notes]
    identity = OperatorIdentity(namespace="jqm-system", pod_labels={"a": "b"})
    known = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None, operator=identity)
    assert "NetworkPolicyWithoutOperator" not in [n.reason for n in known.notes]
    rules = api.objects[("NetworkPolicy", "ns", "demo")]["spec"]["ingress"]
    assert rules[1]["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "jqm-system"}}


def ready_deployment(api: FakeClusterApi) -> None:
    deployment = api.objects[("Deployment", "ns", "demo")]
    deployment["metadata"]["generation"] = 1
    deployment["status"] = {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2}


def by_type(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_workload_status() -> None:
    api = FakeClusterApi()
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    ready_deployment(api)
    status = workload_status(
        api=api, owner=OWNER, spec=parse_spec({}), generation=3, old_status={}, applied=applied, now=NOW
    )
    assert status["replicas"] == status["readyReplicas"] == 2
    assert status["selector"] == "app.kubernetes.io/instance=demo,app.kubernetes.io/name=jqm-node"
    assert status["observedGeneration"] == 3 and status["configChecksum"] == applied.checksum
    assert status["applyFailures"] is None
    assert by_type(status) == {
        "Available": ("True", "NodesReady"),
        "Progressing": ("False", "Stable"),
        "Degraded": ("False", "AsExpected"),
        "AuthenticationDisabled": ("False", "AuthenticationEnabled"),
    }
    failed = Applied(checksum=applied.checksum, failures=("Role demo-node: 403 forbidden", "Service demo: 500 x"))
    broken = workload_status(
        api=api, owner=OWNER, spec=parse_spec({}), generation=4, old_status=status, applied=failed, now=NOW
    )
    assert "observedGeneration" not in broken
    assert broken["applyFailures"] == ["Role demo-node: 403 forbidden", "Service demo: 500 x"]
    degraded = next(c for c in broken["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ApplyFailed")
    assert "Role demo-node" in degraded["message"] and "Service demo" in degraded["message"]


def test_authentication_off_is_a_condition() -> None:
    api = FakeClusterApi()
    spec = parse_spec({"auth": {"enabled": False}})
    applied = apply_children(api=api, owner=OWNER, spec=spec, previous_checksum=None)
    status = workload_status(api=api, owner=OWNER, spec=spec, generation=1, old_status={}, applied=applied, now=NOW)
    condition = next(c for c in status["conditions"] if c["type"] == "AuthenticationDisabled")
    assert (condition["status"], condition["reason"]) == ("True", "AuthenticationDisabled")
    assert "anyone" in condition["message"]


def crash_looping(name: str, message: str) -> dict[str, Any]:
    looping = pod(name, ready=False)
    looping["status"]["containerStatuses"] = [
        {
            "name": "jqm-node",
            "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
            "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "message": message}},
        }
    ]
    return looping


def test_status_never_says_as_expected_while_nodes_crash_loop() -> None:
    api = FakeClusterApi()
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    ready_deployment(api)
    api.objects[("Deployment", "ns", "demo")]["status"]["readyReplicas"] = 0
    error = "node.yaml: jobDefinitions[0].queue: queue 'NOPE' does not exist"
    api.pods = [crash_looping("demo-a", error), crash_looping("demo-b", error)]
    status = workload_status(
        api=api, owner=OWNER, spec=parse_spec({}), generation=1, old_status={}, applied=applied, now=NOW
    )
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "NodesCrashLooping")
    assert "pod demo-a: CrashLoopBackOff after 5 restarts, last exit code 2" in degraded["message"]
    assert "queue 'NOPE' does not exist" in degraded["message"] and "demo-b" in degraded["message"]


def test_workload_refresh_reports_only_changes_and_keeps_stored_failures() -> None:
    api = FakeClusterApi()
    deployment = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2},
    }
    api.cluster_status = {"observedGeneration": 5}

    def refresh() -> dict[str, Any] | None:
        cluster = api.read_cluster(namespace="ns", name="demo")
        return workload_refresh(api=api, owner=OWNER, cluster=cluster, deployment=deployment, now=NOW)

    fields = refresh()
    assert fields is not None and (fields["replicas"], fields["readyReplicas"]) == (2, 1)
    assert {c["type"]: c["observedGeneration"] for c in fields["conditions"]} == {
        "Available": 5,
        "Progressing": 5,
        "Degraded": 5,
        "AuthenticationDisabled": 5,
    }
    api.patch_cluster_status(namespace="ns", name="demo", status=fields)
    assert refresh() is None
    api.cluster_status["applyFailures"] = ["Service demo: 422 bad"]
    deployment["status"]["readyReplicas"] = 2
    api.cluster_spec = {"auth": {"enabled": False}}
    later = refresh()
    assert later is not None
    assert by_type(later)["Degraded"] == ("True", "ApplyFailed")
    assert by_type(later)["AuthenticationDisabled"][0] == "True"  # from the spec it reads with the status


def test_reserved_constants_match_the_contract() -> None:
    assert (c.NODE_PORT, c.MANAGEMENT_PORT, c.MANAGEMENT_PORT_NAME) == (1789, 1790, "management")
    assert c.NODE_AUTH_KEYS == ("users.yaml", "cluster-secret", "management-token")


def test_a_secret_created_meanwhile_by_someone_else_is_checked_not_overwritten() -> None:
    api = FakeClusterApi()
    other = FakeClusterApi()
    apply_children(api=other, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    made_meanwhile = other.objects[("Secret", "ns", "demo-auth")]
    real_get = api.get
    seen = []

    def get_after_race(*, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        if kind == "Secret" and name == "demo-auth" and not seen:
            seen.append(name)  # first look: absent; then another replica creates it
            api.objects[("Secret", "ns", "demo-auth")] = made_meanwhile
            return None
        return real_get(kind=kind, namespace=namespace, name=name)

    api.get = get_after_race  # type: ignore[method-assign]
    applied = apply_children(api=api, owner=OWNER, spec=parse_spec({}), previous_checksum=None)
    assert applied.failures == () and api.objects[("Secret", "ns", "demo-auth")] == made_meanwhile
