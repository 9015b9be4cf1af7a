"""The kind path of the end-to-end suite (``--cluster=kind``): for machines with Docker.

Creates a kind cluster, loads the archives of ``make images`` into it (the same images the local
cluster runs, built by Docker there), installs the local cluster's ingress controller (Traefik from
cluster/addons) and the chart. Services are reached through their node port on the kind node's
address, where kube-proxy balances connections as a cloud load balancer would.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from jqm_localcluster import addons, imagebuild, layout

REPO = Path(__file__).resolve().parents[2]
CLUSTER_NAME = "jqm-e2e"
RELEASE, NAMESPACE = "jqm-operator", "jqm-system"


def missing_tools() -> list[str]:
    """What the kind path lacks here: commands, and a running Docker engine (a client alone is not enough)."""
    missing = [tool for tool in ("docker", "kind", "helm", "kubectl") if shutil.which(tool) is None]
    if "docker" not in missing:
        engine = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
        if engine.returncode != 0:
            missing.append("a running Docker engine")
    return missing


def _run(*command: str, timeout: float = 900, stdin: str | None = None) -> str:
    return subprocess.run(
        command, input=stdin, check=True, capture_output=True, text=True, timeout=timeout, cwd=REPO
    ).stdout


@contextlib.contextmanager
def kind_cluster(workdir: Path) -> Iterator[Path]:
    """A kind cluster with the images of ``make images`` loaded, Traefik and the operator chart
    installed; deleted afterwards."""
    kubeconfig = workdir / "kubeconfig"
    _run("kind", "create", "cluster", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig), "--wait", "180s")
    try:
        images = [*imagebuild.project_images(), imagebuild.ingress_image(layout.Binaries.from_cache())]
        for archive in imagebuild.build(images).values():
            _run("kind", "load", "image-archive", str(archive), "--name", CLUSTER_NAME)
        _run("kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", "-", stdin=addons.render("traefik.yaml"))
        _run("kubectl", "--kubeconfig", str(kubeconfig), "-n", "jqm-ingress", "wait", "--for=condition=Available",
             "--timeout=180s", "deployment/traefik")  # fmt: skip
        repository, tag = layout.OPERATOR_IMAGE.split(":")
        _run(
            "helm", "upgrade", "--install", RELEASE, "charts/jqm-operator", "--kubeconfig", str(kubeconfig),
            "--namespace", NAMESPACE, "--create-namespace", "--wait", "--timeout", "300s",
            "--set", f"image.repository={repository}", "--set", f"image.tag={tag}", "--set", "image.pullPolicy=Never",
        )  # fmt: skip
        yield kubeconfig
    finally:
        _run("kind", "delete", "cluster", "--name", CLUSTER_NAME)


def service_url(kubeconfig: Path, namespace: str, name: str) -> str:
    """``http://<kind node address>:<node port>`` of a Service of type LoadBalancer or NodePort (the
    ingress controller's too)."""
    service = json.loads(
        _run("kubectl", "--kubeconfig", str(kubeconfig), "get", "service", "-n", namespace, name, "-o", "json")
    )
    node_port = service["spec"]["ports"][0]["nodePort"]
    nodes = json.loads(_run("kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"))
    address = next(a["address"] for a in nodes["items"][0]["status"]["addresses"] if a["type"] == "InternalIP")
    return f"http://{address}:{node_port}"
