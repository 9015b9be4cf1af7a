"""The command line of a job's process, where parameter values are data, never shell code.

Upstream pastes the parameter values (sorted by key, trimmed, blank ones dropped) into the
``sh -c`` / PowerShell command string, where they are code: ``$(id)`` runs. Here they are separate
arguments of the process, and the command refers to them: ``sh -c 'PATH "$@"' jqm V1 V2`` and
``pwsh -CommandWithArgs 'PATH @args' V1 V2``; the shell never parses them. ``DIRECTEXECUTABLE``
runs ``PATH V1 V2`` without a shell, as upstream. A job definition with ``parametersAsShellCode``
gets upstream's concatenation back (its values are code: only for trusted callers).

Appending ``"$@"`` keeps the values in argument position only if the command does not end in a
place where the shell expects a command (``cmd &``, ``cmd;``, ``then``...): such definitions are
refused at load (:func:`unsafe_ending`) rather than letting a value become a command name.
"""

from __future__ import annotations

import re

from jqm_node.model import JobDefinition, JobInstance, PathType

SHELL_NAME = "jqm"
"""``$0`` of a shell job: what ``sh`` names itself in its error messages."""
_COMMAND_POSITION = re.compile(r"(?:[;&|({!]|(?:^|\s)(?:do|then|else|elif|if|while|until))\Z")


def unsafe_ending(definition: JobDefinition) -> str | None:
    """Why the parameters of a definition would land in command position, or None if they cannot."""
    if definition.parameters_as_shell_code or definition.path_type is PathType.DIRECTEXECUTABLE:
        return None
    tail = definition.path.rstrip()
    found = _COMMAND_POSITION.search(tail)
    if found is None:
        return None
    return (
        f"the command ends with {found.group().strip()!r}: parameter values appended after it would run as a "
        "command; end the command differently (e.g. put it in a script), or set parametersAsShellCode: true"
    )


def parameter_values(job: JobInstance) -> list[str]:
    """Upstream's order and cleaning: sorted by key, trimmed, blank values dropped."""
    values = (job.parameters[key].strip() for key in sorted(job.parameters))
    return [v for v in values if v]


def build_arguments(job: JobInstance) -> list[str]:
    values = parameter_values(job)
    definition = job.definition
    command, path_type = definition.path, definition.path_type
    if path_type is PathType.DIRECTEXECUTABLE:
        return [command, *values]
    if definition.parameters_as_shell_code:
        code = " ".join([command, *values])
        if path_type is PathType.POWERSHELLCOMMAND:
            return ["pwsh", "-NoLogo", "-NonInteractive", "-Command", code]
        return ["/bin/sh", "-c", code]
    if path_type is PathType.POWERSHELLCOMMAND:
        script = f"{command.rstrip()} @args" if values else command
        return ["pwsh", "-NoLogo", "-NonInteractive", "-CommandWithArgs", script, *values]
    script = f'{command.rstrip()} "$@"' if values else command
    return ["/bin/sh", "-c", script, SHELL_NAME, *values]
