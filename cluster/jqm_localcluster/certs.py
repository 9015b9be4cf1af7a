"""Certificates, keys and kubeconfigs for the local control plane, made with openssl."""

from __future__ import annotations

import base64
import ipaddress
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jqm_localcluster import layout

CA_DAYS = 3650
CERT_DAYS = 825


@dataclass(frozen=True)
class Identity:
    """One certificate: a common name, optional organisations (groups), and for servers their SANs."""

    name: str
    cn: str
    orgs: tuple[str, ...] = ()
    sans: tuple[str, ...] = field(default=())
    kubeconfig: bool = True  # client identities of the tools get one; servers and the API server do not

    @property
    def subject(self) -> str:
        return "".join(f"/O={o}" for o in self.orgs) + f"/CN={self.cn}"

    def extensions(self) -> str:
        """The openssl x509 extension section for this certificate."""
        usage = "serverAuth" if self.sans else "clientAuth"
        lines = [
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature, keyEncipherment",
            f"extendedKeyUsage = {usage}",
        ]
        if self.sans:
            lines.append("subjectAltName = " + ", ".join(_san(s) for s in self.sans))
        return "\n".join(lines) + "\n"


def _san(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"DNS:{value}"
    return f"IP:{value}"


APISERVER_SANS = (
    "127.0.0.1",
    layout.FIRST_SERVICE_IP,
    layout.NODE_IP,
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

IDENTITIES = (
    Identity("apiserver", "kube-apiserver", sans=APISERVER_SANS),
    Identity("admin", "kubernetes-admin", orgs=("system:masters",)),
    Identity("controller-manager", "system:kube-controller-manager"),
    Identity("scheduler", "system:kube-scheduler"),
    Identity("kubelet", f"system:node:{layout.NODE_NAME}", orgs=("system:nodes",)),
    Identity("kubelet-serving", f"system:node:{layout.NODE_NAME}", sans=(layout.NODE_IP, layout.NODE_NAME)),
    Identity("kube-proxy", "system:kube-proxy"),
    Identity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", orgs=("system:masters",), kubeconfig=False),
)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def ensure_pki(pki: Path) -> None:
    """Create what is missing: CA, one key+cert per identity, the service-account key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "ca.crt").exists():
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=pki)
        _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=jqm-local-ca",
            "-days",
            str(CA_DAYS),
            "-out",
            "ca.crt",
            cwd=pki,
        )
    for ident in IDENTITIES:
        if (pki / f"{ident.name}.crt").exists():
            continue
        ext = pki / f"{ident.name}.ext"
        ext.write_text(ident.extensions())
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{ident.name}.key", cwd=pki)
        _openssl(
            "req", "-new", "-key", f"{ident.name}.key", "-subj", ident.subject, "-out", f"{ident.name}.csr", cwd=pki
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{ident.name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            str(CERT_DAYS),
            "-extfile",
            ext.name,
            "-out",
            f"{ident.name}.crt",
            cwd=pki,
        )
    if not (pki / "sa.key").exists():
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for key in pki.glob("*.key"):
        key.chmod(0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(server: str, ca: bytes, cert: bytes, key: bytes, user: str) -> dict[str, Any]:
    """A single-context kubeconfig with embedded credentials."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "jqm-local", "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": user, "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}],
        "contexts": [{"name": "jqm-local", "context": {"cluster": "jqm-local", "user": user}}],
        "current-context": "jqm-local",
    }


def write_kubeconfigs(state: layout.StateDir, server: str) -> None:
    """(Re)write one kubeconfig per client identity; the server URL changes with the port."""
    ca = (state.pki / "ca.crt").read_bytes()
    for ident in IDENTITIES:
        if ident.sans or not ident.kubeconfig:
            continue
        cert = (state.pki / f"{ident.name}.crt").read_bytes()
        key = (state.pki / f"{ident.name}.key").read_bytes()
        path = state.kubeconfig(ident.name)
        path.write_text(yaml.safe_dump(kubeconfig(server, ca, cert, key, ident.name)))
        path.chmod(0o600)
