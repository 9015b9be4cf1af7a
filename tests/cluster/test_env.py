import pytest

from jqm_localcluster.kubelet import env

POD = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "x"}, "annotations": {}},
    "spec": {"nodeName": "n1", "serviceAccountName": "sa"},
    "status": {"podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}], "hostIP": "10.244.0.1"},
}


def test_expand_known_unknown_and_escape() -> None:
    assert env.expand("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"


def test_field_refs() -> None:
    assert env.field_ref(POD, "status.podIP") == "10.244.0.7"
    assert env.field_ref(POD, "metadata.labels['app']") == "x"
    assert env.field_ref(POD, "spec.serviceAccountName") == "sa"
    with pytest.raises(ValueError, match="unsupported"):
        env.field_ref(POD, "spec.nope")


def test_quantities_and_resource_refs() -> None:
    assert env.quantity("500m") == 0.5
    assert env.quantity("1Gi") == 2**30
    container = {"resources": {"limits": {"memory": "256Mi"}}}
    assert env.resource_ref(container, {"resource": "limits.memory", "divisor": "1Mi"}, {}) == "256"
    assert env.resource_ref(container, {"resource": "limits.cpu"}, {"cpu": "2"}) == "2"


def test_container_env_order_and_sources() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
        "env": [
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "URL", "value": "http://$(IP):1789"},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}}},
        ],
    }
    lookups = {("ConfigMap", "cm"): {"a": "1"}, ("Secret", "s"): {"k": "pw"}}
    got = env.container_env(POD, container, {"BASE": "b"}, lookups, {})
    assert got == {"BASE": "b", "CM_a": "1", "IP": "10.244.0.7", "URL": "http://10.244.0.7:1789", "PASS": "pw"}


def test_missing_required_reference() -> None:
    container = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]}
    with pytest.raises(env.MissingReference, match="gone"):
        env.container_env(POD, container, {}, {}, {})


def test_referenced_objects_cover_env_and_volumes() -> None:
    pod = {
        "spec": {
            "containers": [{"envFrom": [{"secretRef": {"name": "s1"}}]}],
            "volumes": [
                {"name": "a", "configMap": {"name": "c1"}},
                {"name": "b", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}},
            ],
        }
    }
    assert env.referenced_objects(pod) == {("Secret", "s1"), ("ConfigMap", "c1"), ("ConfigMap", "kube-root-ca.crt")}


def test_service_env_points_in_cluster_clients_at_the_api() -> None:
    got = env.service_env("10.244.0.1", 6443)
    assert got["KUBERNETES_SERVICE_HOST"] == "10.244.0.1"
    assert got["KUBERNETES_SERVICE_PORT"] == "6443"
