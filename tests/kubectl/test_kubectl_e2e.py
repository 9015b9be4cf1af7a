"""``kubectl jqm`` against a real JqmCluster on the local Kubernetes (or --kubeconfig/--cluster=kind),
as a user runs it: the ``kubectl-jqm`` program in a subprocess, through the API server.

Run with ``pytest -m e2e tests/kubectl``. Both access modes are exercised: ``proxy`` (the default,
through ``pods/proxy``) and ``direct`` (pod IPs; the local cluster's host reaches them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jqm_localcluster import layout
from tests.e2e.conftest import MakeCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PLUGIN = [sys.executable, "-m", "jqm_kubectl.cli"]


def plugin(kubeconfig: Path, namespace: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PLUGIN, "--kubeconfig", str(kubeconfig), "-n", namespace, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_run_wait_logs_in_both_access_modes(kubeconfig: Path, make_cluster: MakeCluster) -> None:
    namespace, name = make_cluster(replicas=2, name="demo")
    for access in ("proxy", "direct"):
        check_job_commands(kubeconfig, namespace, name, "--access", access)


def check_job_commands(kubeconfig: Path, namespace: str, name: str, *access: str) -> None:
    done = plugin(kubeconfig, namespace, *access, "run", name, "DemoEcho", "-p", "p1=hi", "--wait", "--logs")
    assert done.returncode == 0, (access, done.stderr)
    assert "hi" in done.stdout and "DemoEcho on" in done.stdout
    assert "ENDED" in done.stderr

    job_id = plugin(kubeconfig, namespace, *access, "run", name, "DemoEcho").stdout.strip()
    assert job_id.isdigit(), access
    shown = plugin(kubeconfig, namespace, *access, "get", name, job_id, "-o", "json")
    assert shown.returncode == 0, (access, shown.stderr)
    assert json.loads(shown.stdout)["id"] == int(job_id)
    logs = plugin(kubeconfig, namespace, *access, "logs", name, job_id, "-f", "--timeout", "60")
    assert logs.returncode == 0 and "DemoEcho on" in logs.stdout, (access, logs.stderr)
    listed = plugin(kubeconfig, namespace, *access, "list", name, "--app", "DemoEcho", "-o", "json")
    assert int(job_id) in [job["id"] for job in json.loads(listed.stdout)["instances"]], access

    status = plugin(kubeconfig, namespace, *access, "status", name)
    assert status.returncode == 0, (access, status.stderr)
    assert "NODES" in status.stdout and "DEFAULT" in status.stdout and name in status.stdout


def test_kill_timeout_and_exit_codes(kubeconfig: Path, make_cluster: MakeCluster) -> None:
    namespace, name = make_cluster(replicas=1, name="demo")
    waited = plugin(kubeconfig, namespace, "run", name, "Sleep", "-p", "p1=60", "--wait", "--timeout", "2")
    assert waited.returncode == 3, waited.stderr
    job_id = waited.stderr.split("job ", 1)[1].split()[0]
    assert "it goes on" in waited.stderr
    killed = plugin(kubeconfig, namespace, "kill", name, job_id)
    assert killed.returncode == 0 and "kill requested" in killed.stdout, killed.stderr
    ended = plugin(kubeconfig, namespace, "logs", name, job_id, "-f", "--timeout", "60")
    assert ended.returncode == 0, ended.stderr
    state = json.loads(plugin(kubeconfig, namespace, "get", name, job_id, "-o", "json").stdout)["state"]
    assert state == "CRASHED"  # a killed job ends CRASHED, as upstream
    restarted = plugin(kubeconfig, namespace, "restart", name, job_id)
    assert restarted.returncode == 0 and restarted.stdout.strip().isdigit(), restarted.stderr

    for args, code, message in [
        (["status", "nope"], 5, "no JqmCluster 'nope'"),
        (["run", name, "NoSuchApp"], 5, "has no application 'NoSuchApp'"),
        (["get", name, "1"], 5, ""),
        (["get", name, "x"], 2, "a job ID is a number"),
    ]:
        result = plugin(kubeconfig, namespace, *args)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_kubectl_finds_the_plugin(kubeconfig: Path, make_cluster: MakeCluster) -> None:
    kubectl = Path(layout.Binaries.from_cache().kubectl)
    kubectl_path = str(kubectl) if kubectl.exists() else shutil.which("kubectl")
    if kubectl_path is None:
        pytest.skip("no kubectl binary")
    namespace, name = make_cluster(replicas=1, name="demo")
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment["KUBECONFIG"] = str(kubeconfig)
    done = subprocess.run(
        [kubectl_path, "jqm", "-n", namespace, "run", name, "DemoEcho", "-p", "p1=hi", "--wait", "--logs"],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "hi" in done.stdout
