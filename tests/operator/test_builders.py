"""Every child manifest, as the API server would receive it."""

from __future__ import annotations

from typing import Any

import yaml

from jqm_operator import constants as c
from jqm_operator.builders import (
    Owner,
    build_children,
    build_configmap,
    build_deployment,
    build_ingress,
    build_node_config,
    build_pdb,
    build_peer_service,
    build_service,
    config_checksum,
)
from jqm_operator.model import parse_spec

OWNER = Owner(name="demo", namespace="jobs", uid="1234")
SELECTOR = {"app.kubernetes.io/name": "jqm-node", "app.kubernetes.io/instance": "demo"}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(deployment)["env"]}


def assert_owned(manifest: dict[str, Any]) -> None:
    meta = manifest["metadata"]
    assert meta["namespace"] == "jobs"
    assert meta["labels"][c.LABEL_MANAGED_BY] == "jqm-operator"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": c.API_VERSION,
            "kind": "JqmCluster",
            "name": "demo",
            "uid": "1234",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_node_config_passes_queues_and_job_definitions_through() -> None:
    spec = parse_spec(
        {
            "nodeConfig": {"shutdownGraceSeconds": 12},
            "queues": [{"name": "q", "maxThreads": 3, "default": True, "description": None}],
            "jobDefinitions": [{"name": "DemoEcho", "path": "echo hi", "parameters": {"p1": "v1"}}],
        }
    )
    assert build_node_config(spec) == {
        "shutdownGraceSeconds": 12,
        "queues": [{"name": "q", "maxThreads": 3, "default": True}],
        "jobDefinitions": [{"name": "DemoEcho", "path": "echo hi", "parameters": {"p1": "v1"}}],
    }
    assert build_node_config(parse_spec({})) == {"shutdownGraceSeconds": 30}


def test_configmap_holds_the_node_yaml() -> None:
    tricky = "echo \"a: b\" 'quoted'\n{{ not jinja }}"
    cm = build_configmap(owner=OWNER, spec=parse_spec({"jobDefinitions": [{"name": "x", "path": tricky}]}))
    assert_owned(cm)
    assert (cm["kind"], cm["metadata"]["name"]) == ("ConfigMap", "demo-node-config")
    node_yaml = yaml.safe_load(cm["data"][c.NODE_CONFIG_KEY])
    assert node_yaml["jobDefinitions"][0]["path"] == tricky


def test_checksum_changes_with_config_and_with_referenced_configmaps() -> None:
    base = config_checksum(node_config="a")
    assert base == config_checksum(node_config="a", external={})
    assert base != config_checksum(node_config="b")
    assert config_checksum(node_config="a", external={"x": "1"}) != config_checksum(
        node_config="a", external={"x": "2"}
    )


def test_deployment_wires_the_node_contract() -> None:
    dep = build_deployment(owner=OWNER, spec=parse_spec({"replicas": 4}), checksum="abc")
    assert_owned(dep)
    assert dep["spec"]["replicas"] == 4
    assert dep["spec"]["selector"]["matchLabels"] == SELECTOR
    template = dep["spec"]["template"]
    assert SELECTOR.items() <= template["metadata"]["labels"].items()
    assert template["metadata"]["annotations"][c.CONFIG_CHECKSUM_ANNOTATION] == "abc"
    env = env_of(dep)
    assert env["JQM_NODE_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["JQM_NODE_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["JQM_PEER_CIDRS"] == "10.0.0.0/8"
    assert env["JQM_PEERS_DNS"] == "demo-peers.jobs.svc"
    assert env["JQM_CONFIG"] == "/etc/jqm/config/node.yaml"
    assert env["JQM_WORKDIR"] == c.WORK_DIR and env["JQM_LISTEN"] == "0.0.0.0:1789"
    assert env["JQM_ID_LIMIT"] == "1000000"
    assert "JQM_JOBDEFS" not in env
    box = container(dep)
    assert box["ports"] == [{"name": "http", "containerPort": 1789, "protocol": "TCP"}]
    assert box["readinessProbe"]["httpGet"] == {"path": c.HEALTH_PATH, "port": "http"}
    assert box["livenessProbe"]["httpGet"]["path"] == c.STATUS_PATH  # not the health URL: 503 while draining


def test_deployment_is_hardened() -> None:
    dep = build_deployment(owner=OWNER, spec=parse_spec({}), checksum="x")
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    security = container(dep)["securityContext"]
    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"]: m for m in container(dep)["volumeMounts"]}
    assert set(mounts) == {c.CONFIG_DIR, c.WORK_DIR, "/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["work"] and "emptyDir" in volumes["tmp"]
    assert pod["terminationGracePeriodSeconds"] == 30 + 10 + 5 + 5  # shutdown, kill, linger, slack


def test_deployment_applies_pod_overrides_and_jobdef_configmaps() -> None:
    spec = parse_spec(
        {
            "image": "reg/jqm-node:2",
            "imagePullPolicy": "Always",
            "jobDefinitionsFrom": [{"name": "defs-a"}, {"name": "defs-b"}],
            "network": {"peerCIDRs": ["10.244.0.0/16", "10.96.0.0/12"]},
            "idLimit": {"nodeIdCapacity": 50},
            "pod": {
                "labels": {"team": "batch", c.LABEL_INSTANCE: "hijack"},
                "annotations": {"a": "b"},
                "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "affinity": {"podAntiAffinity": {}},
                "env": [{"name": "EXTRA", "value": "1"}],
                "securityContext": {"runAsUser": 2000},
                "containerSecurityContext": {"readOnlyRootFilesystem": False},
                "priorityClassName": "high",
                "imagePullSecrets": ["pull"],
                "workDirSizeLimit": "1Gi",
            },
        }
    )
    dep = build_deployment(owner=OWNER, spec=spec, checksum="x")
    pod = dep["spec"]["template"]["spec"]
    meta = dep["spec"]["template"]["metadata"]
    assert meta["labels"]["team"] == "batch" and meta["labels"][c.LABEL_INSTANCE] == "demo"
    assert meta["annotations"]["a"] == "b"
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert pod["affinity"] == {"podAntiAffinity": {}}
    assert pod["priorityClassName"] == "high"
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert pod["securityContext"]["runAsUser"] == 2000 and pod["securityContext"]["runAsNonRoot"] is True
    assert container(dep)["securityContext"]["readOnlyRootFilesystem"] is False
    assert (container(dep)["image"], container(dep)["imagePullPolicy"]) == ("reg/jqm-node:2", "Always")
    env = env_of(dep)
    assert env["EXTRA"] == "1" and env["JQM_JOBDEFS"] == c.JOBDEFS_DIR and env["JQM_ID_LIMIT"] == "50"
    assert env["JQM_PEER_CIDRS"] == "10.244.0.0/16,10.96.0.0/12"
    jobdefs = next(v for v in pod["volumes"] if v["name"] == "jobdefs")
    assert jobdefs["projected"]["sources"] == [{"configMap": {"name": "defs-a"}}, {"configMap": {"name": "defs-b"}}]
    assert next(v for v in pod["volumes"] if v["name"] == "work")["emptyDir"] == {"sizeLimit": "1Gi"}


def test_service_is_a_load_balancer_by_default() -> None:
    svc = build_service(owner=OWNER, spec=parse_spec({}))
    assert_owned(svc)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["selector"] == SELECTOR
    assert svc["spec"]["ports"] == [{"name": "http", "port": 1789, "targetPort": "http", "protocol": "TCP"}]
    assert "annotations" not in svc["metadata"]
    custom = build_service(
        owner=OWNER, spec=parse_spec({"service": {"type": "ClusterIP", "port": 80, "annotations": {"x": "y"}}})
    )
    assert custom["spec"]["type"] == "ClusterIP" and custom["spec"]["ports"][0]["port"] == 80
    assert custom["metadata"]["annotations"] == {"x": "y"}


def test_peer_service_is_headless_and_lists_draining_nodes() -> None:
    svc = build_peer_service(owner=OWNER)
    assert_owned(svc)
    assert svc["metadata"]["name"] == "demo-peers"
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == SELECTOR


def test_ingress_only_when_enabled() -> None:
    assert build_ingress(owner=OWNER, spec=parse_spec({})) is None
    minimal = build_ingress(owner=OWNER, spec=parse_spec({"ingress": {"enabled": True}}))
    assert minimal is not None and "tls" not in minimal["spec"] and "host" not in minimal["spec"]["rules"][0]
    full = build_ingress(
        owner=OWNER,
        spec=parse_spec(
            {
                "ingress": {
                    "enabled": True,
                    "className": "nginx",
                    "host": "jqm.example.com",
                    "path": "/jqm",
                    "pathType": "Exact",
                    "tlsSecretName": "tls",
                    "annotations": {"k": "v"},
                }
            }
        ),
    )
    assert full is not None
    assert_owned(full)
    assert full["spec"]["ingressClassName"] == "nginx"
    assert full["spec"]["tls"] == [{"hosts": ["jqm.example.com"], "secretName": "tls"}]
    rule = full["spec"]["rules"][0]
    assert rule["host"] == "jqm.example.com"
    assert rule["http"]["paths"] == [
        {"path": "/jqm", "pathType": "Exact", "backend": {"service": {"name": "demo", "port": {"number": 1789}}}}
    ]
    assert full["metadata"]["annotations"] == {"k": "v"}


def test_pdb_selects_the_nodes_and_guards_unhealthy_evictions() -> None:
    pdb = build_pdb(owner=OWNER, spec=parse_spec({"podDisruptionBudget": {"maxUnavailable": "25%"}}))
    assert_owned(pdb)
    assert pdb["spec"] == {
        "maxUnavailable": "25%",
        "selector": {"matchLabels": SELECTOR},
        "unhealthyPodEvictionPolicy": "IfHealthyBudget",
    }


def test_children_in_apply_order_and_disabled_ingress_to_delete() -> None:
    children = build_children(owner=OWNER, spec=parse_spec({}))
    kinds = [(m["kind"], m["metadata"]["name"]) for m in children.manifests]
    assert kinds == [
        ("ConfigMap", "demo-node-config"),
        ("Service", "demo-peers"),
        ("Service", "demo"),
        ("PodDisruptionBudget", "demo"),
        ("Deployment", "demo"),
    ]
    assert children.absent == (("Ingress", "demo"),)
    dep = children.manifests[-1]
    assert dep["spec"]["template"]["metadata"]["annotations"][c.CONFIG_CHECKSUM_ANNOTATION] == children.checksum
    with_ingress = build_children(owner=OWNER, spec=parse_spec({"ingress": {"enabled": True}}))
    assert with_ingress.manifests[-1]["kind"] == "Ingress" and with_ingress.absent == ()


def test_builders_are_deterministic() -> None:
    spec = parse_spec({"jobDefinitions": [{"name": "a", "path": "b"}]})
    assert build_children(owner=OWNER, spec=spec) == build_children(owner=OWNER, spec=spec)
