"""Command lines of shell, PowerShell and executable jobs: values are arguments, never code."""

from __future__ import annotations

import pytest

from jqm_node.commands import build_arguments, unsafe_ending
from jqm_node.model import JobDefinition, JobInstance, PathType, Queue, State


def job(path: str, path_type: PathType, parameters: dict[str, str], *, raw: bool = False) -> JobInstance:
    definition = JobDefinition(id=1, name="J", path=path, path_type=path_type, parameters_as_shell_code=raw)
    return JobInstance(
        id=1, definition=definition, queue=Queue(id=1, name="Q"), state=State.SUBMITTED, rank=1, enqueue_date=0.0,
        parameters=parameters,
    )  # fmt: skip


def test_default_shell_passes_values_as_arguments_sorted_by_key() -> None:
    values = {"b": " second ", "a": "first", "c": "  ", "d": "$(id)"}
    assert build_arguments(job("echo hi", PathType.DEFAULTSHELLCOMMAND, values)) == [
        "/bin/sh", "-c", 'echo hi "$@"', "jqm", "first", "second", "$(id)",
    ]  # fmt: skip


def test_no_values_leave_the_command_untouched() -> None:
    command = "while true; do sleep 1; done"
    assert build_arguments(job(command, PathType.DEFAULTSHELLCOMMAND, {})) == ["/bin/sh", "-c", command, "jqm"]


def test_a_trailing_newline_cannot_put_values_in_command_position() -> None:
    arguments = build_arguments(job("echo hi\n\n", PathType.DEFAULTSHELLCOMMAND, {"a": "id"}))
    assert arguments[2] == 'echo hi "$@"'


def test_powershell_uses_command_with_args() -> None:
    assert build_arguments(job("Write-Output", PathType.POWERSHELLCOMMAND, {"k": "$(Get-Date)"})) == [
        "pwsh", "-NoLogo", "-NonInteractive", "-CommandWithArgs", "Write-Output @args", "$(Get-Date)",
    ]  # fmt: skip


def test_direct_executable_is_unchanged() -> None:
    assert build_arguments(job("/bin/echo", PathType.DIRECTEXECUTABLE, {"2": "b;c", "1": " a "})) == [
        "/bin/echo", "a", "b;c",
    ]  # fmt: skip


def test_parameters_as_shell_code_is_upstreams_concatenation() -> None:
    values = {"1": "$(id)", "2": "x"}
    assert build_arguments(job("echo", PathType.DEFAULTSHELLCOMMAND, values, raw=True)) == [
        "/bin/sh", "-c", "echo $(id) x",
    ]  # fmt: skip
    assert build_arguments(job("echo", PathType.POWERSHELLCOMMAND, values, raw=True)) == [
        "pwsh", "-NoLogo", "-NonInteractive", "-Command", "echo $(id) x",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "path", ["sleep 1 &", "true;", "a && ", "a ||", "x |", "if true; then", "for i in 1 2; do", "{", "(", "!"]
)
def test_commands_ending_where_a_value_would_be_a_command_are_refused(path: str) -> None:
    definition = JobDefinition(id=1, name="J", path=path)
    assert "parametersAsShellCode" in (unsafe_ending(definition) or "")
    definition.parameters_as_shell_code = True
    assert unsafe_ending(definition) is None
    assert unsafe_ending(JobDefinition(id=1, name="J", path=path, path_type=PathType.DIRECTEXECUTABLE)) is None


@pytest.mark.parametrize("path", ["echo hi", "echo done", "/opt/run.sh --flag", "cmd # comment", 'echo "a;"'])
def test_ordinary_commands_are_accepted(path: str) -> None:
    assert unsafe_ending(JobDefinition(id=1, name="J", path=path)) is None
