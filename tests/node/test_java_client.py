"""The official JQM Java client (Maven: com.enioka.jqm:jqm-api-client-jersey) drives a real node, logged in
with HTTP Basic: reads, getJobs() past 50 jobs, the bulk calls, an unknown ID; a wrong password must end in a
clean client exception.

Maven builds the scenario (tests/java-client). ``JQM_JAVA_CLIENT_MAVEN_REPO`` names the local Maven repository
it uses (``-Dmaven.repo.local``), e.g. one where upstream's client was installed from source; without it, the
user's own. The test is skipped only when Maven cannot resolve the client, with Maven's reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.node.conftest import ADMIN, StartNode, shell_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[1] / "java-client"
JAR = PROJECT / "target" / "java-client-compat.jar"
MAVEN_REPO_VARIABLE = "JQM_JAVA_CLIENT_MAVEN_REPO"
CLIENT = "com.enioka.jqm:jqm-api-client-jersey"
UNRESOLVABLE = ("Could not resolve dependencies", "Could not find artifact", "Could not transfer", "Unknown host")


def _maven(*goals: str) -> subprocess.CompletedProcess[str]:
    repository = os.environ.get(MAVEN_REPO_VARIABLE)
    options = [f"-Dmaven.repo.local={repository}"] if repository else []
    return subprocess.run(
        ["mvn", "-q", "-B", "-Dstyle.color=never", *options, *goals],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def build_jar() -> None:
    """Builds the scenario jar: offline when the local repository already holds everything, else online.
    Skips (with Maven's reason) when Maven cannot resolve the JQM client (nor reach a repository that has it);
    any other failure (a compilation error, a plugin) fails the test."""
    result = _maven("-o", "package")
    if result.returncode != 0:
        result = _maven("-U", "package")
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    unresolved = [line.strip() for line in output.splitlines() if any(m in line for m in UNRESOLVABLE)]
    if unresolved:  # the client (or Maven's repository altogether) cannot be had here
        reason = next((line for line in unresolved if CLIENT.split(":")[1] in line), unresolved[0])[:400]
        print(f"java client test skipped: Maven cannot resolve {CLIENT}: {reason}")
        pytest.skip(f"Maven cannot resolve {CLIENT} (set {MAVEN_REPO_VARIABLE} to a repository holding it): {reason}")
    raise AssertionError(f"mvn package failed:\n{output[-10_000:]}")


@pytest.mark.skipif(shutil.which("mvn") is None or shutil.which("java") is None, reason="needs mvn and java")
def test_official_java_client_scenario(start_node: StartNode) -> None:
    build_jar()
    node = start_node(
        config={
            "queues": [{"name": "DEFAULT", "default": True}, {"name": "PARKED", "enabled": False}],
            "jobDefinitions": [
                shell_job("Echo", 'echo "out $JQM_JI_ID"; echo data > "$JQM_JI_DELIVERY_DIR/report.txt" #'),
                shell_job("Sleep", "sleep 60"),
                shell_job("Parked", "true", queue="PARKED"),
            ],
        }
    )
    result = subprocess.run(
        ["java", "-jar", str(JAR), node.url, *ADMIN], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- node log:\n{node.log_path.read_text()}"
    assert "java client scenario: OK" in result.stdout
