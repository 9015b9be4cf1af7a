"""Debian packages the local cluster needs, installed when missing (``apt-get``, as root)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable

# The container runtime and the pod network (containerd, runc, CNI bridge and host-local plugins),
# netfilter tools (kube-proxy's nftables mode; conntrack and ipset for its cleanup of stale state and
# of the other proxy modes' rules), and gcc for the pause binary.
RUNTIME = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "nftables",
    "conntrack",
    "ipset",
    "gcc",
    "libc6-dev",
)
# Building images without a Docker engine: buildah on a base made by debootstrap.
IMAGE_BUILD = ("buildah", "debootstrap")


def missing(packages: Iterable[str]) -> list[str]:
    """The packages of the list that dpkg does not report as installed."""
    absent = []
    for name in packages:
        query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False)
        if query.returncode != 0 or not query.stdout.endswith("install ok installed"):
            absent.append(name)
    return absent


def ensure(packages: Iterable[str]) -> None:
    """Install what is missing (one apt-get update first); raises if that fails."""
    absent = missing(packages)
    if not absent:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"missing Debian packages {', '.join(absent)}: install them as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *absent], check=True, env=env)
