"""Argument parsing, usage errors, failures before any cluster is reached, and the small pieces
(output formats, proxy headers, pod readiness, progress line)."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from jqm_client import JobInstance, State
from jqm_kubectl.cli import build_parser, main
from jqm_kubectl.kube import Pod
from jqm_kubectl.output import age, document, duration, plain, table, usage_bar
from jqm_kubectl.progress import Progress
from jqm_kubectl.proxy import _kubernetes_status, proxied_headers


def test_connection_options_go_before_or_after_the_command() -> None:
    before = build_parser().parse_args(["-n", "team", "--context", "c1", "get", "demo", "7"])
    after = build_parser().parse_args(["get", "demo", "7", "-n", "team", "--context", "c1"])
    for args in (before, after):
        assert (args.namespace, args.context, args.cluster, args.id) == ("team", "c1", "demo", 7)
    default = build_parser().parse_args(["get", "demo", "7"])
    assert (default.namespace, default.access, default.request_timeout) == (None, "proxy", 30.0)


def test_run_options() -> None:
    args = build_parser().parse_args(
        ["run", "demo", "App", "-p", "a=1", "-p", "b==2", "--queue", "Q", "--logs", "--timeout", "90"]
    )
    assert args.parameter == [("a", "1"), ("b", "=2")] and args.queue == "Q" and args.logs and args.timeout == 90.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "demo", "App", "-p", "novalue"], "a parameter is key=value"),
        (["run", "demo", "App", "-p", "=v"], "a parameter is key=value"),
        (["run", "demo", "App", "--timeout", "5"], "--timeout needs --wait, --logs or --follow"),
        (["run", "demo", "App", "--wait", "--timeout", "-1"], "must be positive"),
        (["run", "demo", "App", "--logs", "-o", "json"], "cannot be combined with -o json/yaml"),
        (["run", "demo", "App", "--keyword", "1", "--keyword", "2", "--keyword", "3", "--keyword", "4"], "at most 3"),
        (["get", "demo", "abc"], "a job ID is a number"),
        (["get", "demo", "-5"], "a job ID is not negative"),
        (["--user", "bob", "get", "demo", "1"], "--user needs --password-stdin"),
        (["list", "demo", "--active", "--finished"], "not allowed with argument"),
        (["list", "demo", "--state", "DONE"], "invalid choice"),
        (["list", "demo", "--limit", "0"], "must be positive"),
        (["status", "-o", "xml"], "invalid choice"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_kubeconfig_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kubeconfig", str(tmp_path / "none"), "status"]) == 6
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load the kubeconfig") and "Traceback" not in err and err.count("\n") == 1


def test_unreachable_api_server_is_exit_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t0ken-value"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
                "current-context": "ctx",
            }
        )
    )
    assert main(["--kubeconfig", str(kubeconfig), "status", "demo"]) == 6
    err = capsys.readouterr().err
    assert f"cannot reach the Kubernetes API server at http://127.0.0.1:{port}" in err
    assert "t0ken-value" not in err and "Traceback" not in err


def test_unknown_context_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []})
    )
    assert main(["--kubeconfig", str(kubeconfig), "--context", "nope", "status"]) == 6
    assert "cannot load the kubeconfig" in capsys.readouterr().err


def test_jqm_credentials_travel_beside_the_kubernetes_ones() -> None:
    headers = {"Accept": "application/json", "Authorization": "Basic YWRtaW46cHc="}
    assert proxied_headers(headers, kube_authorization="Bearer kube") == {
        "Accept": "application/json",
        "X-Jqm-Authorization": "Basic YWRtaW46cHc=",
        "Authorization": "Bearer kube",
    }
    assert proxied_headers({"Accept": "x"}, kube_authorization=None) == {"Accept": "x"}


def test_api_server_answers_are_told_from_node_answers() -> None:
    status = b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \\"x\\" is forbidden","code":403}'
    assert _kubernetes_status(status) == 'pods "x" is forbidden'
    assert _kubernetes_status(b'{"userReadableMessage": "no", "errorCode": 1}') is None
    assert _kubernetes_status(b"<html/>") is None


def test_pod_readiness() -> None:
    pod = Pod.from_api(
        {
            "metadata": {"name": "p", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "status": {"podIP": "10.244.0.5", "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    assert (pod.ip, pod.ready, pod.terminating) == ("10.244.0.5", True, True)
    assert not Pod.from_api({"metadata": {"name": "q"}}).ready


def test_output_helpers() -> None:
    assert table(["A", "LONGER"], [("x", None), ("yyyy", 1)]) == "A      LONGER\nx      <none>\nyyyy   1\n"
    assert usage_bar(0, 100) == "[--------------------]   0.0%"
    assert usage_bar(100, 100) == "[####################] 100.0%"
    assert usage_bar(5, 0).endswith("?")
    assert [duration(timedelta(seconds=s)) for s in (5, 65, 3600, 3720, 90000)] == ["5s", "1m5s", "1h", "1h2m", "1d1h"]
    now = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    assert age("2024-01-01T00:00:00Z", now) == "10m" and age(None) is None
    job = JobInstance(id=1, application_name="A", state=State.ENDED, end_date=datetime(2024, 1, 1, tzinfo=UTC))
    assert plain(job)["state"] == "ENDED" and plain(job)["end_date"] == "2024-01-01T00:00:00Z"
    assert yaml.safe_load(document(job, "yaml"))["id"] == 1


def test_progress_line_only_on_a_terminal() -> None:
    job = JobInstance(id=9, application_name="A", state=State.RUNNING)
    quiet = io.StringIO()
    Progress(quiet).update(job)
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    progress = Progress(shown, enabled=True)
    progress.update(job)
    progress.clear()
    assert shown.getvalue().startswith("\r| job 9 A RUNNING") and shown.getvalue().endswith("\r")
