"""Which local command an image stands for: the one table of image → Dockerfile (or fallback config)."""

from __future__ import annotations

import json
import posixpath
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from jqm_localcluster import layout

VENV_BIN = layout.REPO_ROOT / ".venv" / "bin"
# PID-1 helpers of images: here a container's orphans are reaped by the host and killed with its cgroup.
INIT_WRAPPERS = frozenset({"tini", "dumb-init"})


@dataclass(frozen=True)
class ImageConfig:
    """What a container image declares: ENTRYPOINT, CMD (Docker semantics), ENV and WORKDIR."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    workdir: str | None = None


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
        ImageConfig(entrypoint=("python", "-m", "jqm_operator")),
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


def _env_pairs(rest: str) -> list[tuple[str, str]]:
    """ENV k=v k2="v 2" (or the legacy ENV k v)."""
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    return [(key, value) for key, _, value in (w.partition("=") for w in words)]


def parse_dockerfile(text: str) -> ImageConfig:
    """The final stage's ENTRYPOINT, CMD, ENV and WORKDIR (a new ENTRYPOINT resets CMD, as Docker does)."""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = {}
    workdir: str | None = None
    for line in text.replace("\\\n", " ").splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        keyword, rest = words[0].upper(), words[1] if len(words) > 1 else ""
        if keyword == "FROM":
            entrypoint, cmd, env, workdir = (), (), {}, None
        elif keyword == "ENTRYPOINT":
            entrypoint, cmd = _instruction_args(rest), ()
        elif keyword == "CMD":
            cmd = _instruction_args(rest)
        elif keyword == "ENV":
            env.update(_env_pairs(rest))
        elif keyword == "WORKDIR":
            workdir = posixpath.join(workdir or "/", rest.strip())
    return ImageConfig(entrypoint, cmd, tuple(env.items()), workdir)


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
    """Map the command to this machine: init wrappers dropped, then the executable from the project's
    venv (by base name), else as an existing absolute path, else from PATH."""
    if argv and Path(argv[0]).name in INIT_WRAPPERS:
        argv = argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]
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
