"""TLS on the client listener, and HTTPS between peers verified against the CA (throwaway CAs made
with the openssl command line)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from jqm_node.ids import id_base
from tests.node.conftest import StartNode, http, shell_job

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
]
PORT = 1789
JSON = {"Accept": "application/json"}


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> Path:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            cwd=directory)  # fmt: skip
    return directory / f"{name}.crt"


def make_cert(directory: Path, ca: str, name: str, sans: str) -> tuple[Path, Path]:
    (directory / f"{name}.ext").write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip
    return directory / f"{name}.crt", directory / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("pki")
    ca, other_ca = make_ca(directory, "cluster-ca"), make_ca(directory, "other-ca")
    cert, key = make_cert(directory, "cluster-ca", "node", "IP:127.0.0.2,IP:127.0.0.3,DNS:localhost")
    rogue_cert, rogue_key = make_cert(directory, "other-ca", "rogue", "IP:127.0.0.4")
    return {"ca": ca, "other_ca": other_ca, "cert": cert, "key": key, "rogue_cert": rogue_cert, "rogue_key": rogue_key}


CHILD_OVER_HTTPS = """
import base64, os, ssl, urllib.request
env = os.environ
context = ssl.create_default_context(cafile=env["JQM_API_CA_FILE"])
credential = base64.b64encode((env["JQM_API_LOGIN"] + ":" + env["JQM_API_PASSWORD"]).encode()).decode()
request = urllib.request.Request(env["JQM_API_LOCAL_URL"] + "/ws/simple/ji", data=b"applicationname=Child",
                                 headers={"Authorization": "Basic " + credential})
print(env["JQM_API_LOCAL_URL"], urllib.request.urlopen(request, context=context).read().decode())
"""


def test_tls_listener_and_https_between_peers(start_node: StartNode, pki: dict[str, Path], tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD_OVER_HTTPS)
    trust = ssl.create_default_context(cafile=str(pki["ca"]))
    env = {
        "JQM_TLS_CERT_FILE": str(pki["cert"]), "JQM_TLS_KEY_FILE": str(pki["key"]), "JQM_TLS_CA_FILE": str(pki["ca"]),
        "JQM_PEERS": "127.0.0.2,127.0.0.3,127.0.0.4", "JQM_FORWARD_TIMEOUT": "3",
    }  # fmt: skip
    config = {"jobDefinitions": [shell_job("Parent", f"{sys.executable} {script}"), shell_job("Child", "true")]}
    a = start_node(ip="127.0.0.2", port=PORT, env=env, config=config, tls=trust)
    b = start_node(ip="127.0.0.3", port=PORT, env=env, config=config, tls=trust)
    parent = a.enqueue("Parent")
    assert a.wait_state(parent, "ENDED", "CRASHED") == "ENDED", a.request("GET", f"/ws/simple/stderr?id={parent}")
    url, child = a.request("GET", f"/ws/simple/stdout?id={parent}")[2].decode().split()
    assert url == "https://127.0.0.2:1789" and int(child) == parent + 1
    status, _, body = b.request("GET", f"/ws/client/ji/{parent}", headers=JSON)  # forwarded over HTTPS
    assert status == 200 and json.loads(body)["id"] == parent
    status, headers, _ = b.request("GET", "/ws/client/ji", headers=JSON)  # fan-out over HTTPS
    assert status == 200 and headers.get("X-Jqm-Partial-Results") == "127.0.0.4"
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        http("GET", f"http://127.0.0.2:{PORT}/ws/simple/localnode/health")  # plain HTTP is not served
    assert json.loads(a.manage("GET", "/node/status")[2])["auth"] is True  # management is TLS as well
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        http("GET", f"http://127.0.0.2:{a.management_port}/node/status")


def test_a_peer_whose_certificate_is_not_from_the_ca_is_refused(start_node: StartNode, pki: dict[str, Path]) -> None:
    cluster = {"JQM_TLS_CERT_FILE": str(pki["cert"]), "JQM_TLS_KEY_FILE": str(pki["key"]),
               "JQM_TLS_CA_FILE": str(pki["ca"]), "JQM_PEERS": "127.0.0.2,127.0.0.4"}  # fmt: skip
    rogue_env = {**cluster, "JQM_TLS_CERT_FILE": str(pki["rogue_cert"]), "JQM_TLS_KEY_FILE": str(pki["rogue_key"])}
    config = {"jobDefinitions": [shell_job("T", "true")]}
    a = start_node(
        ip="127.0.0.2", port=PORT, env=cluster, config=config, tls=ssl.create_default_context(cafile=str(pki["ca"]))
    )
    rogue = start_node(
        ip="127.0.0.4",
        port=PORT,
        env=rogue_env,
        config=config,
        tls=ssl.create_default_context(cafile=str(pki["other_ca"])),
    )
    job_id = rogue.enqueue("T")
    assert job_id // 1_000_000 == id_base("127.0.0.4") // 1_000_000
    status, _, body = a.request("GET", f"/ws/client/ji/{job_id}", headers=JSON)
    assert status == 502 and "certificate" in json.loads(body)["userReadableMessage"].lower()
