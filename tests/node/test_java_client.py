"""The official JQM Java client (Maven: com.enioka.jqm:jqm-api-client-jersey) drives a real node, logged in
with HTTP Basic; a wrong password must end in a clean client exception."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.node.conftest import ADMIN, StartNode, shell_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1] / "java-client"
JAR = PROJECT / "target" / "java-client-compat.jar"
UNRESOLVABLE = ("Could not resolve dependencies", "Could not transfer", "was not found in", "Unknown host")


def build_jar() -> None:
    """Builds the scenario jar: offline when ~/.m2 already holds everything, else online (-U)."""
    for mode in (["-o"], ["-U"]):
        result = subprocess.run(
            ["mvn", "-q", "-B", *mode, "package"], cwd=PROJECT, capture_output=True, text=True, timeout=900
        )
        if result.returncode == 0:
            return
    output = result.stdout + result.stderr
    if any(marker in output for marker in UNRESOLVABLE):
        reason = next(line for line in output.splitlines() if any(m in line for m in UNRESOLVABLE))
        print(f"java client test skipped: Maven cannot resolve the JQM client: {reason}")
        pytest.skip(f"Maven cannot resolve com.enioka.jqm:jqm-api-client-jersey: {reason.strip()[:400]}")
    raise AssertionError(f"mvn package failed:\n{output[-10_000:]}")


@pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("java") is None, reason="needs mvn and java")
def test_official_java_client_scenario(start_node: StartNode) -> None:
    build_jar()
    node = start_node(
        config={
            "jobDefinitions": [
                shell_job("Echo", 'echo "out $JQM_JI_ID"; echo data > "$JQM_JI_DELIVERY_DIR/report.txt" #'),
                shell_job("Sleep", "sleep 60"),
            ]
        }
    )
    result = subprocess.run(
        ["java", "-jar", str(JAR), node.url, *ADMIN], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- node log:\n{node.log_path.read_text()}"
    assert "java client scenario: OK" in result.stdout
