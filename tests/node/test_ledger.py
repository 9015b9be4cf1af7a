"""The ID ledger: its document operations, the file backend (flock) and the ConfigMap backend (a fake API server)."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from jqm_node.ids import BLOCK_SIZE, id_base
from jqm_node.ledger import (
    ConfigMapLedger,
    FileLedger,
    LedgerDocument,
    LedgerError,
    holder_of,
    parse_ledger_spec,
    record_custody,
    reserve,
)

IP = "10.244.0.5"


# ---------------------------------------------------------------------------------------- document


def test_reserve_moves_the_high_water_mark_and_stops_at_the_million() -> None:
    document = LedgerDocument({})
    assert reserve(document, IP, 128) == (0, 128)
    assert reserve(document, IP, 256) == (128, 384)
    assert document.changed == {IP}
    assert json.loads(document.encoded(IP)) == {"next": 384, "custody": []}
    end = LedgerDocument({IP: json.dumps({"next": BLOCK_SIZE - 10})})
    assert reserve(end, IP, 128) == (BLOCK_SIZE - 10, BLOCK_SIZE)
    assert reserve(end, IP, 128) == (BLOCK_SIZE, BLOCK_SIZE), "an address's million is never reused"


def test_entries_keep_unknown_fields_and_damage_names_the_address() -> None:
    document = LedgerDocument({IP: '{"next":5,"custody":[],"future":{"x":1}}', "not-an-ip": "ignored"})
    reserve(document, IP, 1)
    assert json.loads(document.encoded(IP)) == {"next": 6, "custody": [], "future": {"x": 1}}
    assert list(document.addresses()) == [IP]
    damaged = LedgerDocument({IP: '{"next": -3}', "10.244.0.6": "{}"})
    with pytest.raises(LedgerError, match=r"ledger entry of 10\.244\.0\.5 is damaged"):
        reserve(damaged, IP, 1)
    assert reserve(damaged, "10.244.0.6", 1) == (0, 1), "one damaged entry stops only its own address"


def test_custody_replaces_overlaps_and_merges_neighbours() -> None:
    document = LedgerDocument({})
    record_custody(document, holder="10.244.0.7", ranges={IP: [(0, 100)]})
    record_custody(document, holder="10.244.0.8", ranges={IP: [(50, 200)]})
    record_custody(document, holder="10.244.0.8", ranges={IP: [(200, 300)]})
    assert json.loads(document.encoded(IP))["custody"] == [[0, 50, "10.244.0.7"], [50, 300, "10.244.0.8"]]
    assert holder_of(document, id_base(IP) + 49) == "10.244.0.7"
    assert holder_of(document, id_base(IP) + 299) == "10.244.0.8"
    assert holder_of(document, id_base(IP) + 300) is None
    assert holder_of(document, id_base("10.244.0.99")) is None


def test_ledger_spec() -> None:
    work = Path("/w")
    assert parse_ledger_spec("", workdir=work) == "file:/w/id-ledger.json"
    assert parse_ledger_spec("off", workdir=work) is None
    assert parse_ledger_spec("configmap:jqm/demo-id-ledger", workdir=work) == "configmap:jqm/demo-id-ledger"
    for bad in ("configmap:Demo", "configmap:a/b/c", "redis://x", "file:"):
        with pytest.raises(ValueError, match=r"expected|needs a path"):
            parse_ledger_spec(bad, workdir=work)


# ---------------------------------------------------------------------------------------- file backend


async def test_file_ledger_persists_and_reports_damage(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path / "ledger.json")
    assert await ledger.update(lambda d: reserve(d, IP, 10)) == (0, 10)
    assert await FileLedger(tmp_path / "ledger.json").update(lambda d: reserve(d, IP, 10)) == (10, 20)
    assert json.loads((tmp_path / "ledger.json").read_text()) == {IP: {"next": 20, "custody": []}}
    (tmp_path / "ledger.json").write_text("{not json")
    with pytest.raises(LedgerError, match="is not valid JSON"):
        await ledger.update(lambda d: reserve(d, IP, 10))


RESERVER = """
import asyncio, json, random, sys
from pathlib import Path
from jqm_node.ledger import FileLedger, reserve
async def main():
    ledger = FileLedger(Path(sys.argv[1]))
    got = [await ledger.update(lambda d, n=random.randint(1, 50): reserve(d, sys.argv[2], n)) for _ in range(40)]
    print(json.dumps(got))
asyncio.run(main())
"""


@pytest.mark.integration
def test_concurrent_reservations_from_processes_never_overlap(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    processes = [
        subprocess.Popen([sys.executable, "-c", RESERVER, str(path), IP], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    ranges = sorted(tuple(r) for p in processes for r in json.loads(p.communicate(timeout=60)[0]))
    assert all(p.returncode == 0 for p in processes)
    assert len(ranges) == 160
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi == lo, "blocks are contiguous and never overlap"
    assert json.loads(path.read_text())[IP]["next"] == ranges[-1][1]


# ---------------------------------------------------------------------------------------- ConfigMap backend


class FakeApiServer:
    """GET and PUT of one ConfigMap with resourceVersion checks, as the API server does them."""

    def __init__(self, token: str = "t0ken") -> None:
        self.token = token
        self.version = 1
        self.data: dict[str, str] = {}
        self.exists = True
        self.forbid = False
        self.interfere = 0  # PUTs that find another writer came first
        self.puts = 0
        self.conflicts = 0
        self.field_managers: list[str] = []

    def _object(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "demo-id-ledger", "namespace": "jqm", "resourceVersion": str(self.version),
                "labels": {"app": "jqm"}, "ownerReferences": [{"kind": "JqmCluster", "name": "demo"}],
            },
            "data": dict(self.data),
        }  # fmt: skip

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"kind": "Status", "message": "Unauthorized"}, status=401)
        if self.forbid:
            return web.json_response({"kind": "Status", "message": "configmaps is forbidden"}, status=403)
        if not self.exists:
            return web.json_response({"kind": "Status", "message": 'configmaps "demo-id-ledger" not found'}, status=404)
        return None

    async def get(self, request: web.Request) -> web.Response:
        return self._refusal(request) or web.json_response(self._object())

    async def put(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused:
            return refused
        self.field_managers.append(request.query.get("fieldManager", ""))
        body = await request.json()
        if self.interfere:
            self.interfere -= 1
            self.version += 1  # somebody else wrote meanwhile
        if body["metadata"]["resourceVersion"] != str(self.version):
            self.conflicts += 1
            return web.json_response({"kind": "Status", "reason": "Conflict"}, status=409)
        assert body["metadata"]["labels"] == {"app": "jqm"}, "the rest of the object is written back as read"
        self.data = body.get("data") or {}
        self.version += 1
        self.puts += 1
        return web.json_response(self._object())

    def app(self) -> web.Application:
        app = web.Application()
        path = "/api/v1/namespaces/jqm/configmaps/demo-id-ledger"
        app.add_routes([web.get(path, self.get), web.put(path, self.put)])
        return app


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FakeApiServer, str, Path]]:
    server = FakeApiServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    token = tmp_path / "token"
    token.write_text(server.token + "\n")
    yield server, f"http://127.0.0.1:{port}", token
    await runner.cleanup()


def configmap_ledger(url: str, token: Path, ca: Path | None = None) -> ConfigMapLedger:
    return ConfigMapLedger(namespace="jqm", name="demo-id-ledger", api_url=url, token_file=token, ca_file=ca)


async def test_configmap_ledger_reserves_with_optimistic_concurrency(api: tuple[FakeApiServer, str, Path]) -> None:
    server, url, token = api
    ledger = configmap_ledger(url, token)
    try:
        assert await ledger.update(lambda d: reserve(d, IP, 100)) == (0, 100)
        server.interfere = 3
        assert await ledger.update(lambda d: reserve(d, IP, 100)) == (100, 200)
        assert server.conflicts == 3 and ledger.conflicts == 3
        assert server.data == {IP: '{"next":200,"custody":[]}'}
        assert set(server.field_managers) == {"jqm-node"}
        assert holder_of(await ledger.read(), id_base(IP)) is None
    finally:
        await ledger.close()


async def test_configmap_ledger_concurrent_writers_never_overlap(api: tuple[FakeApiServer, str, Path]) -> None:
    _, url, token = api
    ledgers = [configmap_ledger(url, token) for _ in range(4)]

    async def writer(ledger: ConfigMapLedger) -> list[tuple[int, int]]:
        return [await ledger.update(lambda d: reserve(d, IP, 7)) for _ in range(15)]

    try:
        ranges = sorted(r for found in await asyncio.gather(*(writer(x) for x in ledgers)) for r in found)
    finally:
        for ledger in ledgers:
            await ledger.close()
    assert ranges == [(n, n + 7) for n in range(0, 60 * 7, 7)]


async def test_configmap_ledger_refusals_are_clear(api: tuple[FakeApiServer, str, Path], tmp_path: Path) -> None:
    server, url, token = api
    ledger = configmap_ledger(url, token)
    try:
        server.exists = False
        with pytest.raises(LedgerError, match=r"configmap:jqm/demo-id-ledger .*404.*does not exist \(the operator"):
            await ledger.read()
        server.exists, server.forbid = True, True
        with pytest.raises(LedgerError, match=r"403.*may not get/update this ConfigMap"):
            await ledger.update(lambda d: reserve(d, IP, 1))
        server.forbid = False
        token.write_text("stale")
        with pytest.raises(LedgerError, match=r"401.*token was refused"):
            await ledger.read()
    finally:
        await ledger.close()
    unreachable = configmap_ledger("http://127.0.0.1:9", token)  # nothing listens on the discard port
    try:
        with pytest.raises(LedgerError, match="cannot be reached"):
            await unreachable.read()
    finally:
        await unreachable.close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.integration
async def test_configmap_ledger_over_tls_trusts_the_given_ca(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """As in a pod: HTTPS to the API server, verified with the service account's CA, bearer token."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FakeApiServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    token = tmp_path / "token"
    token.write_text(server.token)
    trusting = configmap_ledger(f"https://127.0.0.1:{port}", token, ca=cert)
    untrusting = configmap_ledger(f"https://127.0.0.1:{port}", token, ca=Path(ssl.get_default_verify_paths().cafile))
    try:
        assert await trusting.update(lambda d: reserve(d, IP, 5)) == (0, 5)
        with pytest.raises(LedgerError, match="cannot be reached"):
            await untrusting.read()
    finally:
        await trusting.close()
        await untrusting.close()
        await runner.cleanup()


def test_configmap_ledger_needs_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(LedgerError, match="KUBERNETES_SERVICE_HOST is not set"):
        ConfigMapLedger.in_pod("jqm", "demo-id-ledger")
