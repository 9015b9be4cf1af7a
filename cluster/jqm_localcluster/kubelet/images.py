"""Which local command an image stands for: the one table of image → entrypoint/cmd."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from jqm_localcluster import layout

VENV_BIN = layout.REPO_ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class ImageConfig:
    """What a container image declares: ENTRYPOINT and CMD (Docker semantics)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageRule:
    """Images whose name contains `match` run this config (read from `dockerfile` when it exists)."""

    match: str
    fallback: ImageConfig
    dockerfile: Path | None = None


RULES = (
    ImageRule("jqm-node", ImageConfig(entrypoint=("jqm-node",)), layout.REPO_ROOT / "node" / "Dockerfile"),
    ImageRule(
        "jqm-operator",
        ImageConfig(entrypoint=("kopf", "run", "--all-namespaces", "-m", "jqm_operator.main")),
        layout.REPO_ROOT / "operator" / "Dockerfile",
    ),
    # Plain shell images, for tests and debugging pods: the host's own tools.
    ImageRule("busybox", ImageConfig(cmd=("sh",))),
    ImageRule("alpine", ImageConfig(cmd=("sh",))),
    ImageRule("debian", ImageConfig(cmd=("bash",))),
)


class UnknownImage(LookupError):
    pass


def _instruction_args(rest: str) -> tuple[str, ...]:
    """The arguments of ENTRYPOINT/CMD: exec form (JSON list) or shell form (run by /bin/sh -c)."""
    rest = rest.strip()
    if rest.startswith("["):
        return tuple(json.loads(rest))
    return ("/bin/sh", "-c", rest)


def parse_dockerfile(text: str) -> ImageConfig:
    """ENTRYPOINT and CMD of the last stage (continuation lines joined); a new ENTRYPOINT resets CMD."""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    for line in text.replace("\\\n", " ").splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        keyword, rest = words[0].upper(), words[1] if len(words) > 1 else ""
        if keyword == "FROM":
            entrypoint, cmd = (), ()
        elif keyword == "ENTRYPOINT":
            entrypoint, cmd = _instruction_args(rest), ()
        elif keyword == "CMD":
            cmd = _instruction_args(rest)
    return ImageConfig(entrypoint, cmd)


def image_config(image: str, rules: tuple[ImageRule, ...] = RULES) -> ImageConfig:
    for rule in rules:
        if rule.match in image:
            if rule.dockerfile is not None and rule.dockerfile.is_file():
                declared = parse_dockerfile(rule.dockerfile.read_text())
                if declared.entrypoint or declared.cmd:
                    return declared
            return rule.fallback
    raise UnknownImage(f"image {image!r} has no local command (known: {', '.join(r.match for r in rules)})")


def container_argv(command: list[str] | None, args: list[str] | None, cfg: ImageConfig) -> list[str]:
    """Kubernetes' rule: command replaces ENTRYPOINT (and drops CMD), args replace CMD."""
    if command:
        return [*command, *(args or [])]
    return [*cfg.entrypoint, *(args if args else cfg.cmd)]


def localize(argv: list[str], venv_bin: Path = VENV_BIN) -> list[str]:
    """Map the executable to this machine: the project's venv first (by base name), else PATH."""
    if not argv:
        raise UnknownImage("no command: the image declares none and the container gives none")
    name = Path(argv[0]).name
    if (venv_bin / name).exists():
        return [str(venv_bin / name), *argv[1:]]
    if Path(argv[0]).is_absolute() and Path(argv[0]).exists():
        return argv
    found = shutil.which(name)
    if found is None:
        raise UnknownImage(f"executable {argv[0]!r} not found on this machine")
    return [found, *argv[1:]]
