"""The operator against a real ``jqm-node`` process on loopback: config accepted, credentials and the
management port understood.

Guards the contract (/work/notes/contract.md, docs/NODE.md) from the operator's side: the node must load
the ``node.yaml`` the builders render from a fully defaulted spec (it rejects unknown keys), accept the
users file and management token the operator writes (password hash format included), and one restart
cycle must drain the real node through its management port once it passes a low absolute threshold, then
evict its pod (the Kubernetes side is faked). Skipped while the installed node predates the contract
(no management port, no ``parametersAsShellCode``).
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from jqm_operator.builders import Owner, build_node_config
from jqm_operator.credentials import missing_values
from jqm_operator.decisions import restart as r
from jqm_operator.model import parse_spec
from jqm_operator.nodeapi import DirectNodeApi, ManagementTokens
from jqm_operator.nodetimer import run_cycle
from jqm_operator.ports import NodeRef, NodeUnreachable
from tests.operator.crdutil import ROOT, defaulted_spec
from tests.operator.fakes import FakeClusterApi, pod
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
OWNER = Owner(name="demo", namespace="ns", uid="u")


@dataclass(frozen=True)
class RunningNode:
    ip: str
    secrets: dict[str, str]
    """The auth Secret's values, as the operator generates them."""

    def ref(self) -> NodeRef:
        return NodeRef(namespace="ns", cluster="demo", pod="p", ip=self.ip)

    def api(self) -> DirectNodeApi:
        return DirectNodeApi(tokens=ManagementTokens(read=lambda ns, cluster: self.secrets["management-token"]))


def _answers(ip: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/ws/simple/localnode/health", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RunningNode]:
    """A real node with the example's configuration and an auth Secret's files, as the operator renders
    them (environment names of the contract)."""
    pytest.importorskip("jqm_node", reason="the node package is not installed")
    example = yaml.safe_load((ROOT / "examples" / "jqmcluster.yaml").read_text())
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(build_node_config(parse_spec(defaulted_spec(example["spec"])))))
    secrets = missing_values(existing={}, cluster="demo")
    for key in ("users.yaml", "cluster-secret", "management-token"):
        (tmp_path / key).write_text(secrets[key])
    ip = f"127.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
    env = {
        **os.environ,
        "JQM_MANAGEMENT_LISTEN": f"{ip}:1790",
        "JQM_AUTH": "on",
        "JQM_USERS": str(tmp_path / "users.yaml"),
        "JQM_CLUSTER_SECRET_FILE": str(tmp_path / "cluster-secret"),
        "JQM_MANAGEMENT_TOKEN_FILE": str(tmp_path / "management-token"),
    }
    command = [sys.executable, "-m", "jqm_node", "--config", str(tmp_path / "node.yaml"), "--listen", f"{ip}:1789"]
    command += ["--ip", ip, "--workdir", str(tmp_path / "work"), "--id-limit", "50"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(
            lambda: _answers(ip, 1789) or process.poll() is not None, what=f"jqm-node on {ip}", timeout=30, every=0.5
        )
        if process.poll() is not None:
            output = process.communicate()[0]
            if "parametersAsShellCode: unknown key" in output:
                pytest.skip("this jqm-node predates parametersAsShellCode (contract: shell parameters)")
            raise AssertionError(output)
        if not _answers(ip, 1790):
            pytest.skip("this jqm-node has no management listener yet (contract: JQM_MANAGEMENT_LISTEN, port 1790)")
        yield RunningNode(ip=ip, secrets=secrets)
    finally:
        process.terminate()
        process.wait(timeout=60)


def enqueue(node: RunningNode, *, password: str | None = None) -> int:
    form = urllib.parse.urlencode(
        {"applicationname": "DemoEcho", "parameterNames": "p1", "parameterValues": "hello"}
    ).encode()
    request = urllib.request.Request(f"http://{node.ip}:1789/ws/simple/ji", data=form)
    user = f"admin:{node.secrets['admin-password'] if password is None else password}"
    request.add_header("Authorization", "Basic " + base64.b64encode(user.encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.read())


def test_node_accepts_the_operators_files_and_reports_status(node: RunningNode) -> None:
    status = node.api().status(node.ref())
    assert {"ip", "name", "idsUsed", "idCapacity", "idsRemaining", "draining", "running", "queued"} <= set(status)
    assert (status["ip"], status["idCapacity"], status["draining"]) == (node.ip, 50, False)
    assert enqueue(node) > 0  # the admin password matches the hash the operator wrote
    with pytest.raises(urllib.error.HTTPError) as refused:
        enqueue(node, password="wrong")
    assert refused.value.code == 401


def test_drain_needs_the_management_token(node: RunningNode) -> None:
    impostor = DirectNodeApi(tokens=ManagementTokens(read=lambda ns, cluster: "not-the-token"))
    with pytest.raises(NodeUnreachable):
        impostor.drain(node.ref(), reason="x")
    assert node.api().status(node.ref())["draining"] is False
    node.api().drain(node.ref(), reason="jqm-operator: test")
    assert node.api().status(node.ref())["draining"] is True
    node.api().undrain(node.ref())
    assert node.api().status(node.ref())["draining"] is False


def test_restart_cycle_drains_a_real_node(node: RunningNode) -> None:
    for _ in range(3):
        enqueue(node)
    api, nodes = FakeClusterApi(), node.api()
    api.pods.append(pod("demo-0", ip=node.ip))
    api.objects[("PodDisruptionBudget", "ns", "demo")] = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "disruptionsAllowed": 1},
    }
    spec = parse_spec({"replicas": 1, "idLimit": {"restartThresholdIds": 3}})

    first = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=spec, now=datetime.now(UTC))
    assert first.decision.action == r.START_DRAIN
    assert nodes.status(node.ref())["draining"] is True
    with pytest.raises(urllib.error.HTTPError) as refused:
        enqueue(node)
    assert refused.value.code == 503

    def evicted() -> bool:
        run_cycle(api=api, nodes=nodes, owner=OWNER, spec=spec, now=datetime.now(UTC))
        return api.evictions == ["demo-0"]

    wait_until(evicted, what="the drained node's jobs to end and its pod to be evicted", timeout=30, every=0.5)
    assert api.cluster_status["idLimit"]["restarts"] == 1
