"""The cluster's system workloads, applied by ``up`` and waited for: CoreDNS (cluster DNS) and Traefik
(the ingress controller), from the manifests in cluster/addons/ and the locally built images."""

from __future__ import annotations

import string
import subprocess
from pathlib import Path

from jqm_localcluster import layout

ADDONS_DIR = layout.CLUSTER_DIR / "addons"
# (manifest, namespace/deployment to wait for)
ADDONS = (("coredns.yaml", "kube-system/coredns"), ("traefik.yaml", "jqm-ingress/traefik"))


def render(name: str, addons_dir: Path = ADDONS_DIR) -> str:
    """A manifest with its ${...} placeholders filled in."""
    values = {
        "coredns.yaml": {"IMAGE": layout.COREDNS_IMAGE, "DNS_IP": layout.CLUSTER_DNS_IP},
        "traefik.yaml": {"IMAGE": layout.TRAEFIK_IMAGE, "INGRESS_IP": layout.INGRESS_IP},
    }[name]
    return string.Template((addons_dir / name).read_text()).substitute(values)


def apply(kubectl: Path, kubeconfig: Path, timeout: float = 180) -> None:
    """Server-side apply every addon, then wait until each Deployment is Available."""
    base = [str(kubectl), f"--kubeconfig={kubeconfig}"]
    for manifest, _ in ADDONS:
        subprocess.run(
            [*base, "apply", "--server-side", "--force-conflicts", "--field-manager=jqm-localcluster", "-f", "-"],
            input=render(manifest), text=True, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    for _, target in ADDONS:
        namespace, deployment = target.split("/")
        subprocess.run(
            [*base, "-n", namespace, "wait", "--for=condition=Available", f"--timeout={timeout:.0f}s",
             f"deployment/{deployment}"],
            check=True, capture_output=True, text=True, timeout=timeout + 30,
        )  # fmt: skip
