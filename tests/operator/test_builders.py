"""Every child manifest, as the API server would receive it."""

from __future__ import annotations

from typing import Any

import yaml

from jqm_operator import constants as c
from jqm_operator.builders import (
    ExternalFacts,
    OperatorIdentity,
    Owner,
    PodInputs,
    build_children,
    build_configmap,
    build_deployment,
    build_ingress,
    build_network_policy,
    build_node_config,
    build_pdb,
    build_peer_service,
    build_service,
    config_checksum,
    replacement,
)
from jqm_operator.model import ClusterSpec, parse_spec
from tests.operator.psa import restricted_violations

OWNER = Owner(name="demo", namespace="jobs", uid="1234")
SELECTOR = {"app.kubernetes.io/name": "jqm-node", "app.kubernetes.io/instance": "demo"}


def deployment(spec: ClusterSpec, *, checksum: str = "x", tls_has_ca: bool = False) -> dict[str, Any]:
    return build_deployment(owner=OWNER, spec=spec, inputs=PodInputs(checksum=checksum, tls_has_ca=tls_has_ca))


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
            "jobDefinitions": [
                {"name": "DemoEcho", "path": "echo hi", "parameters": {"p1": "v1"}, "parametersAsShellCode": True}
            ],
        }
    )
    assert build_node_config(spec) == {
        "shutdownGraceSeconds": 12,
        "queues": [{"name": "q", "maxThreads": 3, "default": True}],
        "jobDefinitions": [
            {"name": "DemoEcho", "path": "echo hi", "parameters": {"p1": "v1"}, "parametersAsShellCode": True}
        ],
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
    dep = deployment(parse_spec({"replicas": 4}), checksum="abc")
    assert_owned(dep)
    assert dep["spec"]["replicas"] == 4
    assert dep["spec"]["selector"]["matchLabels"] == SELECTOR
    template = dep["spec"]["template"]
    assert SELECTOR.items() <= template["metadata"]["labels"].items()
    assert template["metadata"]["annotations"][c.CONFIG_CHECKSUM_ANNOTATION] == "abc"
    assert c.DELETION_COST_ANNOTATION not in template["metadata"]["annotations"]  # per pod, kept by the timer
    env = env_of(dep)
    assert env["JQM_NODE_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["JQM_NODE_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["JQM_PEERS_DNS"] == "demo-peers.jobs.svc"
    assert env["JQM_CONFIG"] == "/etc/jqm/config/node.yaml"
    assert env["JQM_WORKDIR"] == c.WORK_DIR and env["JQM_LISTEN"] == "0.0.0.0:1789"
    assert env["JQM_MANAGEMENT_LISTEN"] == "0.0.0.0:1790"
    assert env["JQM_ID_LIMIT"] == "1000000"
    assert env["JQM_ID_LEDGER"] == "configmap:jobs/demo-id-ledger"
    assert "JQM_JOBDEFS" not in env and not any("CIDR" in name for name in env)
    assert not {"JQM_HISTORY_MAX_JOBS", "JQM_MAX_INPUT_FILES", "JQM_TLS_CERT_FILE"} & set(env)
    pod = template["spec"]
    assert pod["serviceAccountName"] == "demo-node" and pod["automountServiceAccountToken"] is True
    box = container(dep)
    assert box["ports"] == [
        {"name": "http", "containerPort": 1789, "protocol": "TCP"},
        {"name": "management", "containerPort": 1790, "protocol": "TCP"},
    ]
    assert box["readinessProbe"]["httpGet"] == {"path": c.HEALTH_PATH, "port": "http", "scheme": "HTTP"}
    # Liveness on the management port's status, not the health URL: that one is 503 while draining.
    assert box["livenessProbe"]["httpGet"] == {"path": c.STATUS_PATH, "port": "management", "scheme": "HTTP"}
    assert box["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_authentication_is_on_by_default_and_mounts_only_what_nodes_need() -> None:
    dep = deployment(parse_spec({}))
    env = env_of(dep)
    assert env["JQM_AUTH"] == "on"
    assert env["JQM_USERS"] == "/etc/jqm/auth/users.yaml"
    assert env["JQM_CLUSTER_SECRET_FILE"] == "/etc/jqm/auth/cluster-secret"
    assert env["JQM_MANAGEMENT_TOKEN_FILE"] == "/etc/jqm/auth/management-token"
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    auth = volumes["auth"]["secret"]
    assert auth["secretName"] == "demo-auth" and auth["defaultMode"] == 0o440
    assert [item["key"] for item in auth["items"]] == ["users.yaml", "cluster-secret", "management-token"]
    assert "admin-password" not in str(dep)  # never mounted, never named
    mounts = {m["name"]: m for m in container(dep)["volumeMounts"]}
    assert mounts["auth"] == {"name": "auth", "mountPath": "/etc/jqm/auth", "readOnly": True}


def test_users_secret_and_tls_are_wired_as_the_contract_says() -> None:
    spec = parse_spec({"auth": {"usersSecretName": "my-users", "tls": {"secretName": "node-tls"}}})
    dep = deployment(spec, tls_has_ca=True)
    env = env_of(dep)
    assert env["JQM_USERS"] == "/etc/jqm/auth/users.yaml,/etc/jqm/users/users.yaml"
    assert env["JQM_TLS_CERT_FILE"] == "/etc/jqm/tls/tls.crt"
    assert env["JQM_TLS_KEY_FILE"] == "/etc/jqm/tls/tls.key"
    assert env["JQM_TLS_CA_FILE"] == "/etc/jqm/tls/ca.crt"
    assert "JQM_TLS_CA_FILE" not in env_of(deployment(spec, tls_has_ca=False))  # a CA only if the Secret has one
    volumes = {v["name"]: v["secret"] for v in dep["spec"]["template"]["spec"]["volumes"] if "secret" in v}
    assert volumes["users"] == {
        "secretName": "my-users",
        "defaultMode": 0o440,
        "items": [{"key": "users.yaml", "path": "users.yaml"}],
    }
    assert volumes["tls"] == {"secretName": "node-tls", "defaultMode": 0o440}
    mounts = {m["name"]: m["mountPath"] for m in container(dep)["volumeMounts"]}
    assert (mounts["users"], mounts["tls"]) == ("/etc/jqm/users", "/etc/jqm/tls")
    assert container(dep)["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container(dep)["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"


def test_authentication_off_keeps_the_cluster_secret_and_the_management_token() -> None:
    dep = deployment(parse_spec({"auth": {"enabled": False, "usersSecretName": "ignored"}}))
    env = env_of(dep)
    assert env["JQM_AUTH"] == "off" and "JQM_USERS" not in env
    assert env["JQM_CLUSTER_SECRET_FILE"] and env["JQM_MANAGEMENT_TOKEN_FILE"]
    assert "users" not in {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"]}


def test_history_and_limits_become_node_settings() -> None:
    spec = parse_spec(
        {
            "history": {"maxJobs": 5000, "maxAgeSeconds": 3600, "logBytes": 65536},
            "limits": {"maxInputFiles": 10, "maxInputBytes": 1048576, "workDirSizeLimit": "2Gi"},
        }
    )
    dep = deployment(spec)
    env = env_of(dep)
    assert (env["JQM_HISTORY_MAX_JOBS"], env["JQM_HISTORY_MAX_AGE_SECONDS"], env["JQM_HANDOVER_LOG_BYTES"]) == (
        "5000",
        "3600",
        "65536",
    )
    assert (env["JQM_MAX_INPUT_FILES"], env["JQM_MAX_INPUT_BYTES"]) == ("10", "1048576")
    work = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "work")
    assert work["emptyDir"] == {"sizeLimit": "2Gi"}
    old_place = deployment(parse_spec({"pod": {"workDirSizeLimit": "1Gi"}}))  # deprecated, still honoured
    work = next(v for v in old_place["spec"]["template"]["spec"]["volumes"] if v["name"] == "work")
    assert work["emptyDir"] == {"sizeLimit": "1Gi"}


def test_termination_grace_covers_a_whole_sigterm_drain() -> None:
    spec = parse_spec({"nodeConfig": {"shutdownGraceSeconds": 30, "killGraceSeconds": 10, "handoverSeconds": 60}})
    dep = deployment(spec)
    pod = dep["spec"]["template"]["spec"]
    # drain accept window + shutdown grace + kill grace + handover + linger + slack
    assert pod["terminationGracePeriodSeconds"] == 15 + 30 + 10 + 60 + 5 + 5
    env = env_of(dep)
    assert (env["JQM_SHUTDOWN_GRACE"], env["JQM_KILL_GRACE"], env["JQM_HANDOVER_TIMEOUT"]) == ("30", "10", "60")
    quick = env_of(deployment(parse_spec({"nodeConfig": {"handoverSeconds": 20}})))
    assert quick["JQM_HANDOVER_TIMEOUT"] == "20", "the node spends no more on its handover than the grace reserves"


def test_deployment_is_hardened_and_passes_pod_security_restricted() -> None:
    dep = deployment(parse_spec({"jobDefinitionsFrom": [{"name": "d"}], "auth": {"tls": {"secretName": "t"}}}))
    pod = dep["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    security = container(dep)["securityContext"]
    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"]: m for m in container(dep)["volumeMounts"]}
    assert set(mounts) == {c.CONFIG_DIR, c.JOBDEFS_DIR, c.AUTH_DIR, c.TLS_DIR, c.WORK_DIR, "/tmp"}
    assert all(m.get("readOnly") for path, m in mounts.items() if path not in (c.WORK_DIR, "/tmp"))
    loosened = deployment(parse_spec({"pod": {"securityContext": {"runAsNonRoot": False}}}))
    assert restricted_violations(loosened["spec"]["template"]["spec"])  # the checker itself can fail


def test_deployment_applies_pod_overrides_and_jobdef_configmaps() -> None:
    spec = parse_spec(
        {
            "image": "reg/jqm-node:2",
            "imagePullPolicy": "Always",
            "jobDefinitionsFrom": [{"name": "defs-a"}, {"name": "defs-b"}],
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
            },
        }
    )
    dep = deployment(spec)
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
    jobdefs = next(v for v in pod["volumes"] if v["name"] == "jobdefs")
    assert jobdefs["projected"]["sources"] == [{"configMap": {"name": "defs-a"}}, {"configMap": {"name": "defs-b"}}]


def test_ledger_configmap_carries_no_data_and_nodes_may_touch_only_it() -> None:
    children = {
        (m["kind"], m["metadata"]["name"]): m for m in build_children(owner=OWNER, spec=parse_spec({})).manifests
    }
    ledger = children[("ConfigMap", "demo-id-ledger")]
    assert_owned(ledger)
    assert "data" not in ledger  # server-side apply then never touches the entries the nodes write
    assert_owned(children[("ServiceAccount", "demo-node")])
    role = children[("Role", "demo-node")]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["demo-id-ledger"],
            "verbs": ["get", "update", "patch"],
        }
    ]
    binding = children[("RoleBinding", "demo-node")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "demo-node"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "demo-node", "namespace": "jobs"}]


OPERATOR = OperatorIdentity(namespace="jqm-system", pod_labels={"app.kubernetes.io/name": "jqm-operator"})


def test_network_policy_only_when_enabled() -> None:
    assert build_network_policy(owner=OWNER, spec=parse_spec({}), operator=OPERATOR) is None


def test_network_policy_opens_the_client_port_and_keeps_management_to_the_operator() -> None:
    policy = build_network_policy(owner=OWNER, spec=parse_spec({"networkPolicy": {"enabled": True}}), operator=OPERATOR)
    assert policy is not None
    assert_owned(policy)
    assert policy["spec"]["podSelector"] == {"matchLabels": SELECTOR}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    client, management = policy["spec"]["ingress"]
    assert client == {"ports": [{"port": 1789, "protocol": "TCP"}]}  # no "from": anyone, through the Service
    assert management == {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "jqm-system"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "jqm-operator"}},
            }
        ],
        "ports": [{"port": 1790, "protocol": "TCP"}],
    }


def test_network_policy_with_chosen_clients_keeps_the_peers_and_extra_management_callers() -> None:
    ingress_controllers = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}
    scraper = {"podSelector": {"matchLabels": {"app": "prometheus"}}}
    spec = parse_spec(
        {"networkPolicy": {"enabled": True, "clientFrom": [ingress_controllers], "managementFrom": [scraper]}}
    )
    policy = build_network_policy(owner=OWNER, spec=spec, operator=None)
    assert policy is not None
    client, management = policy["spec"]["ingress"]
    assert client["from"] == [ingress_controllers, {"podSelector": {"matchLabels": SELECTOR}}]
    assert management["from"] == [scraper]  # the operator unknown: only what the spec names
    alone = build_network_policy(owner=OWNER, spec=parse_spec({"networkPolicy": {"enabled": True}}), operator=None)
    assert alone is not None and len(alone["spec"]["ingress"]) == 1  # nobody may call the management port


def test_service_is_a_load_balancer_by_default() -> None:
    svc = build_service(owner=OWNER, spec=parse_spec({}))
    assert_owned(svc)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["selector"] == SELECTOR
    # Only the client port: the management port (1790) is in no Service.
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
    assert [p["port"] for p in svc["spec"]["ports"]] == [1789]


def test_ingress_only_when_enabled() -> None:
    assert build_ingress(owner=OWNER, spec=parse_spec({})) is None
    minimal = build_ingress(owner=OWNER, spec=parse_spec({"ingress": {"enabled": True, "className": "c"}}))
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


def test_children_in_apply_order_and_disabled_parts_to_delete() -> None:
    children = build_children(owner=OWNER, spec=parse_spec({}))
    kinds = [(m["kind"], m["metadata"]["name"]) for m in children.manifests]
    assert kinds == [
        ("ConfigMap", "demo-node-config"),
        ("ConfigMap", "demo-id-ledger"),
        ("ServiceAccount", "demo-node"),
        ("Role", "demo-node"),
        ("RoleBinding", "demo-node"),
        ("Service", "demo-peers"),
        ("Service", "demo"),
        ("PodDisruptionBudget", "demo"),
        ("Deployment", "demo"),
    ]
    assert all(m["metadata"]["ownerReferences"][0]["uid"] == "1234" for m in children.manifests)
    assert children.absent == (("NetworkPolicy", "demo"), ("Ingress", "demo"))
    assert children.never_replaced == {("ConfigMap", "demo-id-ledger")}
    dep = children.manifests[-1]
    assert dep["spec"]["template"]["metadata"]["annotations"][c.CONFIG_CHECKSUM_ANNOTATION] == children.checksum
    everything = build_children(
        owner=OWNER,
        spec=parse_spec({"ingress": {"enabled": True, "className": "c"}, "networkPolicy": {"enabled": True}}),
    )
    assert [m["kind"] for m in everything.manifests[-2:]] == ["NetworkPolicy", "Ingress"] and everything.absent == ()


def test_new_auth_secret_values_roll_the_nodes() -> None:
    spec = parse_spec({})
    first = build_children(owner=OWNER, spec=spec, facts=ExternalFacts(auth_digest="a"))
    same = build_children(owner=OWNER, spec=spec, facts=ExternalFacts(auth_digest="a"))
    other = build_children(owner=OWNER, spec=spec, facts=ExternalFacts(auth_digest="b"))
    assert first.checksum == same.checksum != other.checksum


def test_replacement_keeps_what_the_api_server_allocated_and_other_controllers_keep() -> None:
    manifest = build_service(owner=OWNER, spec=parse_spec({"service": {"type": "LoadBalancer"}}))
    live = {
        "metadata": {
            "resourceVersion": "42",
            "labels": {"mesh": "on", c.LABEL_MANAGED_BY: "someone"},
            "annotations": {"cloud/lb": "x"},
            "finalizers": ["service.kubernetes.io/load-balancer-cleanup"],
        },
        "spec": {
            "clusterIP": "10.96.0.7",
            "clusterIPs": ["10.96.0.7"],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 1790, "nodePort": 31000}, {"name": "http", "port": 1789}],
        },
    }
    body = replacement(manifest=manifest, live=live)
    assert body["metadata"]["resourceVersion"] == "42"
    assert (
        body["metadata"]["labels"]["mesh"] == "on" and body["metadata"]["labels"][c.LABEL_MANAGED_BY] == "jqm-operator"
    )
    assert body["metadata"]["annotations"] == {"cloud/lb": "x"}
    assert body["metadata"]["finalizers"] == ["service.kubernetes.io/load-balancer-cleanup"]
    assert body["spec"]["clusterIP"] == "10.96.0.7" and body["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert body["spec"]["ports"] == [
        {"name": "http", "port": 1789, "targetPort": "http", "protocol": "TCP", "nodePort": 31000}
    ]
    assert manifest["spec"]["ports"][0].get("nodePort") is None  # the manifest itself is left as it was


def test_builders_are_deterministic() -> None:
    spec = parse_spec({"jobDefinitions": [{"name": "a", "path": "b"}]})
    assert build_children(owner=OWNER, spec=spec) == build_children(owner=OWNER, spec=spec)
