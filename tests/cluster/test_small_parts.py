import json
from pathlib import Path

from jqm_localcluster import certs, controlplane, layout


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
        f"IP:{layout.NODE_IP}",
        f"IP:{layout.FIRST_SERVICE_IP}",
        "DNS:kubernetes.default.svc",
    ):
        assert san in ext
    assert "serverAuth" in ext


def test_client_identities_carry_their_groups() -> None:
    by_name = {i.name: i for i in certs.IDENTITIES}
    assert by_name["admin"].subject == "/O=system:masters/CN=kubernetes-admin"
    assert by_name["kube-proxy"].subject == "/CN=system:kube-proxy"  # bound to system:node-proxier by default
    assert f"IP:{layout.NODE_IP}" in by_name["kubelet-serving"].extensions()
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
    assert f"--bind-address={layout.NODE_IP}" in api
    assert f"--advertise-address={layout.NODE_IP}" in api
    assert f"--service-account-signing-key-file={tmp_path / 'pki' / 'sa.key'}" in api
    assert "--leader-elect=false" in controlplane.argv("kube-controller-manager", bins, state, ports)
    assert controlplane.scheduler_config(Path("/k"))["leaderElection"] == {"leaderElect": False}


def test_ports_are_recorded_and_reused(tmp_path: Path) -> None:
    state = layout.StateDir(tmp_path)
    first = controlplane.choose_ports(state)
    assert len({*json.loads(state.ports_file.read_text()).values()}) == 5
    assert controlplane.choose_ports(state) == first
