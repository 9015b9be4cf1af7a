import json
from pathlib import Path

import pytest

from jqm_localcluster import certs, controlplane, layout
from jqm_localcluster.kubelet import network, probes


def test_versions_are_pinned() -> None:
    versions = layout.read_versions()
    assert versions["K8S_VERSION"] == "v1.33.5"
    assert versions["ETCD_VERSION"] == "v3.5.21"
    assert versions["HELM_VERSION"].startswith("v3.")


def test_apiserver_certificate_names_every_way_to_reach_it() -> None:
    ident = next(i for i in certs.IDENTITIES if i.name == "apiserver")
    ext = ident.extensions()
    for san in (
        "IP:127.0.0.1",
        f"IP:{layout.BRIDGE_IP}",
        f"IP:{layout.FIRST_SERVICE_IP}",
        "DNS:kubernetes.default.svc",
    ):
        assert san in ext
    assert "serverAuth" in ext


def test_client_identities_carry_their_groups() -> None:
    by_name = {i.name: i for i in certs.IDENTITIES}
    assert by_name["admin"].subject == "/O=system:masters/CN=kubernetes-admin"
    assert by_name["kubelet"].subject == f"/O=system:nodes/CN=system:node:{layout.NODE_NAME}"
    assert "clientAuth" in by_name["kubelet"].extensions()


def test_kubeconfig_embeds_credentials() -> None:
    kc = certs.kubeconfig("https://127.0.0.1:1", b"ca", b"cert", b"key", "admin")
    assert kc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert kc["users"][0]["user"]["client-key-data"] == "a2V5"


def test_control_plane_flags(tmp_path: Path) -> None:
    state = layout.StateDir(tmp_path)
    bins = layout.Binaries.from_cache(tmp_path)
    ports = controlplane.Ports(1, 2, 3, 4, 5)
    api = controlplane.argv("kube-apiserver", bins, state, ports)
    assert "--etcd-servers=http://127.0.0.1:1" in api
    assert "--bind-address=127.0.0.1" in api
    assert f"--service-account-signing-key-file={tmp_path / 'pki' / 'sa.key'}" in api
    assert "--leader-elect=false" in controlplane.argv("kube-controller-manager", bins, state, ports)
    assert controlplane.scheduler_config(Path("/k"))["leaderElection"] == {"leaderElect": False}


def test_ports_are_recorded_and_reused(tmp_path: Path) -> None:
    state = layout.StateDir(tmp_path)
    first = controlplane.choose_ports(state)
    assert len({*json.loads(state.ports_file.read_text()).values()}) == 5
    assert controlplane.choose_ports(state) == first


def test_ipam_hands_out_each_address_once() -> None:
    ipam = network.Ipam("10.244.0.0/29", "10.244.0.1")
    got = [ipam.allocate() for _ in range(5)]
    assert got == [f"10.244.0.{n}" for n in range(2, 7)]
    with pytest.raises(RuntimeError):
        ipam.allocate()
    ipam.release("10.244.0.4")
    assert ipam.allocate() == "10.244.0.4"


def test_pod_etc_files_use_cluster_dns_only() -> None:
    files = network.etc_files("10.244.0.9", "pod-a", "team")
    assert "10.244.0.9\tpod-a" in files["hosts"]
    assert f"nameserver {layout.BRIDGE_IP}" in files["resolv.conf"]
    assert "search team.svc.cluster.local svc.cluster.local cluster.local" in files["resolv.conf"]


def test_probe_thresholds_and_named_ports() -> None:
    t = probes.Thresholds(success_threshold=2, failure_threshold=2)
    assert [t.record(x) for x in (True, True, False, False, True)] == [None, True, None, False, None]
    container = {"name": "c", "ports": [{"name": "http", "containerPort": 1789}]}
    assert probes.resolve_port("http", container) == 1789
    assert probes.resolve_port(8080, container) == 8080
    with pytest.raises(ValueError):
        probes.resolve_port("nope", container)
