"""The operator against a real ``jqm-node`` process on loopback: config accepted, status and drain understood.

Guards the contract of docs/NODE.md from the operator's side: the node must load the ``node.yaml`` the
builders render from a fully defaulted spec (it rejects unknown keys), and one restart cycle must drain
the real node once it passes a low absolute threshold, then evict its pod (the Kubernetes side is faked).
"""

from __future__ import annotations

import random
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from jqm_operator.builders import Owner, build_node_config
from jqm_operator.decisions import restart as r
from jqm_operator.model import parse_spec
from jqm_operator.nodeapi import DirectNodeApi
from jqm_operator.ports import NodeUnreachable
from jqm_operator.restarts import run_cycle
from tests.operator.crdutil import ROOT, defaulted_spec
from tests.operator.fakes import FakeClusterApi, pod
from tests.operator.kubetest import wait_for

pytestmark = pytest.mark.integration
OWNER = Owner(name="demo", namespace="ns", uid="u")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[str]:
    """A real node with the example's configuration as rendered by the operator; yields its IP."""
    pytest.importorskip("jqm_node", reason="the node package is not installed")
    example = yaml.safe_load((ROOT / "examples" / "jqmcluster.yaml").read_text())
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump(build_node_config(parse_spec(defaulted_spec(example["spec"])))))
    ip = f"127.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jqm_node",
            "--config",
            str(config),
            "--listen",
            f"{ip}:1789",
            "--ip",
            ip,
            "--workdir",
            str(tmp_path / "work"),
            "--id-limit",
            "50",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: _answers(ip) or process.poll() is not None, what=f"jqm-node on {ip}", limit=30)
        assert process.poll() is None, process.communicate()[0]
        yield ip
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(ip: str) -> bool:
    try:
        DirectNodeApi(timeout=1).status(namespace="ns", pod="p", ip=ip)
    except NodeUnreachable:
        return False
    return True


def enqueue(ip: str) -> int:
    form = urllib.parse.urlencode(
        {"applicationname": "DemoEcho", "parameterNames": "p1", "parameterValues": "hello"}
    ).encode()
    with urllib.request.urlopen(f"http://{ip}:1789/ws/simple/ji", data=form, timeout=10) as response:
        return int(response.read())


def test_node_accepts_rendered_config_and_reports_status(node: str) -> None:
    status = DirectNodeApi().status(namespace="ns", pod="p", ip=node)
    assert {"ip", "name", "idsUsed", "idCapacity", "idsRemaining", "draining", "running", "queued"} <= set(status)
    assert (status["ip"], status["idCapacity"], status["draining"]) == (node, 50, False)


def test_restart_cycle_drains_a_real_node(node: str) -> None:
    for _ in range(3):
        enqueue(node)
    api, nodes = FakeClusterApi(), DirectNodeApi()
    api.pods.append(pod("demo-0", ip=node))
    api.objects[("PodDisruptionBudget", "ns", "demo")] = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "disruptionsAllowed": 1},
    }
    spec = parse_spec({"replicas": 1, "idLimit": {"restartThresholdIds": 3}})

    first = run_cycle(api=api, nodes=nodes, owner=OWNER, spec=spec, now=datetime.now(UTC))
    assert first.decision.action == r.START_DRAIN
    assert nodes.status(namespace="ns", pod="demo-0", ip=node)["draining"] is True
    with pytest.raises(urllib.error.HTTPError) as refused:
        enqueue(node)
    assert refused.value.code == 503

    def evicted() -> bool:
        run_cycle(api=api, nodes=nodes, owner=OWNER, spec=spec, now=datetime.now(UTC))
        return api.evictions == ["demo-0"]

    wait_for(evicted, what="the drained node's jobs to end and its pod to be evicted", limit=30)
    assert api.cluster_status["idLimit"]["restarts"] == 1
