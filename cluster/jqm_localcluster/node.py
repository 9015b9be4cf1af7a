"""The node: the upstream kubelet (on containerd) and kube-proxy (nftables mode), their configuration.

Both run as host processes beside the control plane, as on a machine set up by hand. The kubelet
serves on the node address only (logs, exec, port-forward through the API server), its health on
loopback; its pods' cgroups live under jqm-localcluster/<cluster>/node in every cgroup hierarchy, so
``down`` can remove them. kube-proxy opens NodePorts on the node address only, never on the
machine's other interfaces, and leaves the conntrack sysctls as they are.
"""

from __future__ import annotations

from typing import Any

from jqm_localcluster import layout

KUBELET_HEALTHZ_PORT = 10248
KUBE_PROXY_HEALTHZ_PORT = 10256
KUBE_PROXY_METRICS_PORT = 10249


def cgroup_root(state: layout.StateDir) -> str:
    """The kubelet's cgroupRoot (kubepods/... are created below it)."""
    return f"/jqm-localcluster/{state.cgroup}/node"


def kubelet_config(state: layout.StateDir) -> dict[str, Any]:
    pki = state.pki
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": layout.NODE_IP,
        "port": layout.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "containerRuntimeEndpoint": f"unix://{layout.CONTAINERD_SOCKET}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root(state),
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [layout.CLUSTER_DNS_IP],
        "clusterDomain": layout.CLUSTER_DOMAIN,
        # Pods with dnsPolicy Default get no name server: nothing outside the machine is reachable.
        "resolvConf": "",
        "podCIDR": layout.POD_CIDR,
        "staticPodPath": "",
        # Images cannot be pulled again: never collect them, never evict for disk space.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "0%",
            "nodefs.inodesFree": "0%",
            "imagefs.available": "0%",
        },
        "serializeImagePulls": False,
        "shutdownGracePeriod": "0s",
        "containerLogMaxSize": "10Mi",
        "containerLogMaxFiles": 3,
    }


def kubelet_argv(state: layout.StateDir, bins: layout.Binaries) -> list[str]:
    return [
        str(bins.kubelet),
        f"--config={state.config / 'kubelet.yaml'}",
        f"--kubeconfig={state.kubeconfig('kubelet')}",
        f"--root-dir={state.kubelet_root}",
        f"--node-ip={layout.NODE_IP}",
        f"--hostname-override={layout.NODE_NAME}",
        "--v=1",
    ]


def kube_proxy_config(state: layout.StateDir) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "nftables",
        "clientConnection": {"kubeconfig": str(state.kubeconfig("kube-proxy"))},
        "hostnameOverride": layout.NODE_NAME,
        "clusterCIDR": layout.POD_CIDR,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{KUBE_PROXY_METRICS_PORT}",
        "nodePortAddresses": [f"{layout.NODE_IP}/32"],
        # One node and a handful of Services: apply each endpoint change at once (default: at most
        # once a second), so a terminating pod leaves the load balancers as fast as it can.
        "nftables": {"minSyncPeriod": "0s"},
        # 0 = leave the host's conntrack settings alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def kube_proxy_argv(state: layout.StateDir, bins: layout.Binaries) -> list[str]:
    return [str(bins.kube_proxy), f"--config={state.config / 'kube-proxy.yaml'}", "--v=1"]
