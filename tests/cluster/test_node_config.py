"""The node's generated configuration: containerd, CNI, kubelet, kube-proxy, system workloads."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from jqm_localcluster import addons, cni_mac, containerd, layout, node, podnet


@pytest.fixture
def state(tmp_path: Path) -> layout.StateDir:
    return layout.StateDir(tmp_path / "state")


def test_images_are_named_as_containerd_stores_them() -> None:
    assert containerd.full_ref("jqm-node:latest") == "docker.io/library/jqm-node:latest"
    assert containerd.full_ref("jqm-local/pause:3.10.1") == "docker.io/jqm-local/pause:3.10.1"
    assert containerd.full_ref("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert containerd.full_ref("localhost/x:1") == "localhost/x:1"


def test_containerd_config_fits_this_machine_and_touches_nothing_system_wide(state: layout.StateDir) -> None:
    text = containerd.config(state)
    assert "restrict_oom_score_adj = true" in text  # no CAP_SYS_RESOURCE in this VM
    assert "SystemdCgroup = false" in text  # cgroupfs, as the kubelet
    assert "netns_mounts_under_state_dir = true" in text
    assert '"io.containerd.internal.v1.opt"' in text  # would create /opt/containerd
    assert f'sandbox_image = "{containerd.full_ref(layout.PAUSE_IMAGE)}"' in text
    assert f'address = "{layout.CONTAINERD_SOCKET}"' in text
    assert f'root = "{state.containerd_root}"' in text
    assert f'bin_dir = "{state.cni_bin}"' in text


def test_pod_network_has_no_default_route_and_the_configured_range(tmp_path: Path) -> None:
    plugin = podnet.conflist(tmp_path, ("10.244.0.10", "10.244.0.13"))["plugins"][0]
    assert plugin["bridge"] == layout.BRIDGE and plugin["isGateway"] and not plugin["isDefaultGateway"]
    assert plugin["hairpinMode"] and not plugin["ipMasq"]
    (subnet,) = plugin["ipam"]["ranges"][0]
    assert (subnet["rangeStart"], subnet["rangeEnd"], subnet["gateway"]) == ("10.244.0.10", "10.244.0.13", "10.244.0.1")
    assert plugin["ipam"]["routes"] == [{"dst": layout.SERVICE_CIDR}]
    assert plugin["ipam"]["dataDir"] == str(tmp_path)
    chained = podnet.conflist(tmp_path, ("10.244.0.10", "10.244.0.13"))["plugins"][1:]
    assert chained == [{"type": cni_mac.NAME}], "MAC addresses derived from IPs, after bridge"


def test_pod_ip_range_comes_from_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.POD_IP_RANGE_ENV, raising=False)
    assert layout.pod_ip_range() == ("10.244.0.2", "10.244.0.254")
    monkeypatch.setenv(layout.POD_IP_RANGE_ENV, "10.244.0.20-10.244.0.23")
    assert layout.pod_ip_range() == ("10.244.0.20", "10.244.0.23")
    for bad in ("10.244.0.1-10.244.0.5", "10.245.0.2-10.245.0.3", "10.244.0.9-10.244.0.3", "10.244.0.2-10.244.0.255"):
        monkeypatch.setenv(layout.POD_IP_RANGE_ENV, bad)
        with pytest.raises(ValueError, match=layout.POD_IP_RANGE_ENV):
            layout.pod_ip_range()


def test_conflist_written_where_containerd_reads_it(state: layout.StateDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layout.POD_IP_RANGE_ENV, "10.244.0.30-10.244.0.31")
    path = podnet.write_conflist(state)
    assert path.parent == state.cni_conf
    assert json.loads(path.read_text())["plugins"][0]["ipam"]["ranges"][0][0]["rangeEnd"] == "10.244.0.31"


def test_kubelet_listens_on_the_node_address_only_and_keeps_images(state: layout.StateDir) -> None:
    config = node.kubelet_config(state)
    assert config["address"] == layout.NODE_IP and config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0 and config["authentication"]["anonymous"] == {"enabled": False}
    assert config["cgroupDriver"] == "cgroupfs" and config["failCgroupV1"] is False
    assert config["cgroupRoot"] == f"/jqm-localcluster/{state.cgroup}/node"
    assert config["clusterDNS"] == [layout.CLUSTER_DNS_IP]
    assert config["imageGCHighThresholdPercent"] == 100  # nothing can be pulled again
    assert f"--node-ip={layout.NODE_IP}" in node.kubelet_argv(state, layout.Binaries.from_cache(state.root))


def test_kube_proxy_is_nftables_and_opens_node_ports_on_the_node_address_only(state: layout.StateDir) -> None:
    config = node.kube_proxy_config(state)
    assert config["mode"] == "nftables"
    assert config["nodePortAddresses"] == [f"{layout.NODE_IP}/32"]
    assert config["healthzBindAddress"].startswith("127.0.0.1:")
    assert config["metricsBindAddress"].startswith("127.0.0.1:")
    assert config["conntrack"]["maxPerCore"] == 0  # leaves the host's conntrack sysctls alone


def test_addons_render_with_the_local_images_and_addresses() -> None:
    dns = list(yaml.safe_load_all(addons.render("coredns.yaml")))
    service = next(d for d in dns if d["kind"] == "Service")
    assert service["spec"]["clusterIP"] == layout.CLUSTER_DNS_IP
    deployment = next(d for d in dns if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == layout.COREDNS_IMAGE and container["imagePullPolicy"] == "Never"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    corefile = next(d for d in dns if d["kind"] == "ConfigMap")["data"]["Corefile"]
    assert "forward" not in corefile  # resolves nothing outside the cluster
    ingress = list(yaml.safe_load_all(addons.render("traefik.yaml")))
    ingress_class = next(d for d in ingress if d["kind"] == "IngressClass")
    assert ingress_class["spec"]["controller"] == "traefik.io/ingress-controller"
    assert ingress_class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    lb = next(d for d in ingress if d["kind"] == "Service")
    assert lb["spec"]["type"] == "LoadBalancer" and lb["spec"]["loadBalancerIP"] == layout.INGRESS_IP
    args = next(d for d in ingress if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--global.checknewversion=false" in args and "--global.sendanonymoususage=false" in args


BRIDGE_RESULT = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "jqmcni0", "mac": "aa:aa:aa:aa:aa:aa"},
        {"name": "veth1", "mac": "bb:bb:bb:bb:bb:bb"},
        {"name": "eth0", "mac": "cc:cc:cc:cc:cc:cc", "sandbox": "/run/jqm-localcluster/netns/cni-1"},
    ],
    "ips": [{"address": "10.244.0.5/24", "gateway": "10.244.0.1", "interface": 2}],
}


def test_a_pod_mac_is_derived_from_its_address() -> None:
    assert cni_mac.mac_from_ip("10.244.0.5") == "0a:58:0a:f4:00:05"
    assert cni_mac.mac_from_ip("10.244.0.254") == "0a:58:0a:f4:00:fe"
    assert cni_mac.sandbox_address(BRIDGE_RESULT, "eth0") == (2, "10.244.0.5")
    assert cni_mac.sandbox_address(BRIDGE_RESULT, "net1") is None
    assert cni_mac.sandbox_address({"interfaces": [], "ips": []}, "eth0") is None
    changed = cni_mac.with_mac(BRIDGE_RESULT, 2, "0a:58:0a:f4:00:05")
    assert [i["mac"] for i in changed["interfaces"]] == ["aa:aa:aa:aa:aa:aa", "bb:bb:bb:bb:bb:bb", "0a:58:0a:f4:00:05"]
    assert BRIDGE_RESULT["interfaces"][2]["mac"] == "cc:cc:cc:cc:cc:cc", "the input is left as it was"


def run_plugin(command: str, config: dict | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CNI_COMMAND": command, "CNI_IFNAME": "eth0", "CNI_NETNS": "/nonexistent"}
    return subprocess.run(["python3", cni_mac.__file__], input=json.dumps(config or {}), env=env,
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_the_plugin_speaks_cni() -> None:
    version = run_plugin("VERSION")
    assert version.returncode == 0 and "1.0.0" in json.loads(version.stdout)["supportedVersions"]
    assert run_plugin("DEL").returncode == 0
    unchained = run_plugin("ADD", {"cniVersion": "1.0.0"})
    assert unchained.returncode == 1 and "must follow" in json.loads(unchained.stdout)["msg"]
    no_pod_interface = {**BRIDGE_RESULT, "ips": []}
    passed = run_plugin("ADD", {"cniVersion": "1.0.0", "prevResult": no_pod_interface})
    assert passed.returncode == 0 and json.loads(passed.stdout) == no_pod_interface
    failed = run_plugin("ADD", {"cniVersion": "1.0.0", "prevResult": BRIDGE_RESULT})  # no such network namespace
    assert failed.returncode == 1 and "cannot set the MAC address 0a:58:0a:f4:00:05" in json.loads(failed.stdout)["msg"]


def test_plugins_installed_beside_debians(
    state: layout.StateDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "system-cni"
    system.mkdir()
    (system / "bridge").write_text("")
    monkeypatch.setattr(podnet, "SYSTEM_CNI_BIN", system)
    podnet.install_plugins(state)
    podnet.install_plugins(state)  # idempotent
    assert (state.cni_bin / "bridge").readlink() == system / "bridge"
    plugin = state.cni_bin / cni_mac.NAME
    assert os.access(plugin, os.X_OK) and plugin.read_text().startswith("#!/")
