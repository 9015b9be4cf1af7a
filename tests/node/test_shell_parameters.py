"""Parameter values reach a real job byte for byte as separate arguments: no shell parses them."""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.node.conftest import StartNode, shell_job

pytestmark = pytest.mark.integration

ARGV = f"{sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))'"


def injections(target: Path) -> dict[str, str]:
    return {
        "command substitution": f"$(touch {target})",
        "backticks": f"`touch {target}`",
        "semicolon": f"x; touch {target}",
        "pipe": f"x | touch {target}",
        "and": f"x && touch {target}",
        "newline": f"x\ntouch {target}",
        "single quotes": f"x' ; touch {target}; echo '",
        "double quotes": f'x" ; touch {target}; echo "',
        "variables and globs": "$HOME ${PATH} * ~ $((1+1)) \\n",
    }


@pytest.mark.parametrize("case", list(injections(Path("/x"))))
def test_each_injection_is_inert(start_node: StartNode, tmp_path: Path, case: str) -> None:
    target = tmp_path / "pwned"
    value = injections(target)[case]
    node = start_node(config={"jobDefinitions": [shell_job("Argv", ARGV)]})
    job_id = node.enqueue("Argv", parameterNames=["p1"], parameterValues=[value])
    assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED", node.request("GET", f"/ws/simple/stderr?id={job_id}")
    assert json.loads(node.request("GET", f"/ws/simple/stdout?id={job_id}")[2]) == [value]
    assert not target.exists()


def test_values_arrive_sorted_by_key_through_both_apis(start_node: StartNode, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    values = injections(target)
    names = [f"p{i:02d}" for i in range(len(values))]
    node = start_node(config={"jobDefinitions": [shell_job("Argv", ARGV, parameters={"p00": "overridden"})]})
    form = node.enqueue("Argv", parameterNames=list(reversed(names)), parameterValues=list(reversed(values.values())))
    body = json.dumps(
        {
            "applicationName": "Argv",
            "parameters": [{"key": k, "value": v} for k, v in zip(names, values.values(), strict=True)],
        }
    )
    status, _, reply = node.request(
        "POST",
        "/ws/client/ji",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert status == 200, reply
    for job_id in (form, json.loads(reply)["id"]):
        assert node.wait_state(job_id, "ENDED", "CRASHED") == "ENDED"
        assert json.loads(node.request("GET", f"/ws/simple/stdout?id={job_id}")[2]) == list(values.values())
    assert not target.exists()


def test_upstream_demo_echo_prints_the_parameters_once(start_node: StartNode) -> None:
    """examples/jqmcluster.yaml's DemoEcho."""
    path = 'echo "DemoEcho on $JQM_NODE_NAME, job $JQM_JI_ID, parameters:"'
    node = start_node(
        config={"name": "n1", "jobDefinitions": [shell_job("DemoEcho", path, parameters={"p1": "default"})]}
    )
    job_id = node.enqueue("DemoEcho", parameterNames=["p1"], parameterValues=["$(id)"])
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    expected = f"DemoEcho on n1, job {job_id}, parameters: $(id)\n"
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2].decode() == expected


def test_parameters_as_shell_code_restores_upstreams_raw_mode(start_node: StartNode, tmp_path: Path) -> None:
    target = tmp_path / "raw"
    node = start_node(config={"jobDefinitions": [shell_job("Raw", "echo", parametersAsShellCode=True)]})
    job_id = node.enqueue("Raw", parameterNames=["p1"], parameterValues=[f"$(touch {target}) done"])
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    assert target.exists(), "raw mode: the value was shell code, as upstream"
    assert node.request("GET", f"/ws/simple/stdout?id={job_id}")[2] == b"done\n"


def test_a_command_where_values_would_run_is_refused_at_start(start_node: StartNode) -> None:
    with pytest.raises(AssertionError, match="would run as a command"):
        start_node(config={"jobDefinitions": [shell_job("Bg", "sleep 1 &")]})


def test_form_values_are_decoded_once(start_node: StartNode) -> None:
    node = start_node(config={"jobDefinitions": [shell_job("Argv", ARGV)]})
    raw = "a%20b+c&d=e"
    data = urllib.parse.urlencode({"applicationname": "Argv", "parameterNames": "p", "parameterValues": raw}).encode()
    status, _, body = node.request(
        "POST", "/ws/simple/ji", data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, body
    job_id = int(body)
    assert node.wait_state(job_id, "ENDED") == "ENDED"
    assert json.loads(node.request("GET", f"/ws/simple/stdout?id={job_id}")[2]) == [raw]
