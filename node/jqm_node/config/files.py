"""The configuration files of a node: the YAML node configuration and job definition files (YAML or
upstream XML deployment descriptors), read and checked key by key.

Every problem is reported as one :class:`ConfigError` naming the file, the key and what is wrong.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jqm_node.model import JobDefinition, PathType, Queue

DEFAULT_QUEUE_NAME = "DEFAULT"
JAVA_PATH_TYPES = frozenset({"FS", "MAVEN", "MEMORY"})


class ConfigError(Exception):
    def __init__(self, source: str | Path, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")


@dataclass(slots=True)
class NodeConfig:
    name: str | None = None
    shutdown_grace_seconds: float | None = None
    queues: list[Queue] = field(default_factory=list)
    job_definitions: list[JobDefinition] = field(default_factory=list)


class _Reader:
    """Typed access to one mapping of a config document, with error messages that locate the key."""

    def __init__(self, source: str | Path, prefix: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(source, prefix or "(document)", f"expected a mapping, got {_kind(data)}")
        self.source, self.prefix, self.data = source, prefix, data

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def reject_unknown(self, known: set[str]) -> None:
        for name in self.data:
            if name not in known:
                raise ConfigError(self.source, self.key(str(name)), f"unknown key (known: {', '.join(sorted(known))})")

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise ConfigError(self.source, self.key(name), "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(self.source, self.key(name), f"expected a string, got {_kind(value)}")
        return str(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.source, self.key(name), f"expected true or false, got {value!r}")
        return value

    def integer(self, name: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.source, self.key(name), f"expected an integer, got {value!r}")
        if value < minimum:
            raise ConfigError(self.source, self.key(name), f"must be at least {minimum}, got {value}")
        return value

    def number(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(self.source, self.key(name), f"expected a number of seconds >= 0, got {value!r}")
        return float(value)

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise ConfigError(self.source, self.key(name), f"expected a list, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


_QUEUE_KEYS = {"name", "description", "maxThreads", "pollingIntervalMs", "enabled", "default"}
_JOBDEF_KEYS = {
    "name", "description", "path", "pathType", "queue", "canBeRestarted", "highlander", "maxTimeRunning",
    "application", "module", "keyword1", "keyword2", "keyword3", "priority", "parameters", "parametersAsShellCode",
}  # fmt: skip
_NODE_KEYS = {"name", "shutdownGraceSeconds", "queues", "jobDefinitions"}


def load_node_config(path: Path | None) -> NodeConfig:
    """Reads the YAML node configuration; no file means one default queue and no job definitions."""
    if path is None:
        return NodeConfig(queues=[Queue(id=1, name=DEFAULT_QUEUE_NAME, default=True)])
    root = _Reader(path, "", _load_yaml(path) or {})
    root.reject_unknown(_NODE_KEYS)
    queues = [_queue(path, f"queues[{i}]", item, i + 1) for i, item in enumerate(root.items("queues"))]
    queues = _with_default_queue(path, queues)
    definitions = [
        _yaml_jobdef(path, f"jobDefinitions[{i}]", item) for i, item in enumerate(root.items("jobDefinitions"))
    ]
    return NodeConfig(
        name=root.text("name"),
        shutdown_grace_seconds=root.number("shutdownGraceSeconds"),
        queues=queues,
        job_definitions=definitions,
    )


def _with_default_queue(source: Path, queues: list[Queue]) -> list[Queue]:
    if not queues:
        return [Queue(id=1, name=DEFAULT_QUEUE_NAME, default=True)]
    names = [q.name for q in queues]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(source, "queues", f"duplicate queue name(s): {', '.join(duplicates)}")
    defaults = [q for q in queues if q.default]
    if len(defaults) > 1:
        raise ConfigError(source, "queues", "only one queue may have default: true")
    if not defaults:
        queues[0].default = True
    return queues


def _queue(source: Path, prefix: str, data: Any, queue_id: int) -> Queue:
    r = _Reader(source, prefix, data)
    r.reject_unknown(_QUEUE_KEYS)
    r.integer("pollingIntervalMs", 1000)  # accepted for compatibility: dispatch does not poll
    return Queue(
        id=queue_id,
        name=r.text("name", required=True) or "",
        description=r.text("description", "") or "",
        max_threads=r.integer("maxThreads", 10, minimum=1) or 10,
        enabled=r.boolean("enabled", True),
        default=r.boolean("default", False),
    )


def _path_type(source: str | Path, key: str, value: str | None) -> PathType:
    raw = (value or "FS").strip().upper()
    if raw in JAVA_PATH_TYPES:
        raise ConfigError(
            source,
            key,
            f"pathType {raw} is a Java payload; this engine runs processes, not JARs "
            f"(use one of {', '.join(PathType)})",
        )
    try:
        return PathType(raw)
    except ValueError:
        raise ConfigError(source, key, f"unknown pathType {raw!r} (use one of {', '.join(PathType)})") from None


def _parameters(source: str | Path, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(source, key, f"expected a mapping of names to values, got {_kind(value)}")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _yaml_jobdef(source: str | Path, prefix: str, data: Any) -> JobDefinition:
    r = _Reader(source, prefix, data)
    r.reject_unknown(_JOBDEF_KEYS)
    return JobDefinition(
        id=0,
        name=r.text("name", required=True) or "",
        path=r.text("path", required=True) or "",
        path_type=_path_type(source, r.key("pathType"), r.text("pathType", "DEFAULTSHELLCOMMAND")),
        description=r.text("description", "") or "",
        queue_name=r.text("queue"),
        can_be_restarted=r.boolean("canBeRestarted", True),
        highlander=r.boolean("highlander", False),
        max_time_running=r.integer("maxTimeRunning", 0) or 0,
        application=r.text("application"),
        module=r.text("module"),
        keyword1=r.text("keyword1"),
        keyword2=r.text("keyword2"),
        keyword3=r.text("keyword3"),
        priority=r.integer("priority", None),
        parameters=_parameters(source, r.key("parameters"), r.data.get("parameters")),
        parameters_as_shell_code=r.boolean("parametersAsShellCode", False),
    )


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except OSError as e:
        raise ConfigError(path, "(file)", f"cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(path, "(document)", f"invalid YAML: {e}") from None


def load_job_definition_files(path: Path) -> list[JobDefinition]:
    """Reads one file, or every ``*.xml``, ``*.yaml`` and ``*.yml`` file of a directory (sorted)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in {".xml", ".yaml", ".yml"} and p.is_file())
    elif path.exists():
        files = [path]
    else:
        raise ConfigError(path, "(file)", "does not exist")
    return [jd for file in files for jd in _load_jobdef_file(file)]


def _load_jobdef_file(path: Path) -> Iterator[JobDefinition]:
    if path.suffix.lower() == ".xml":
        yield from _xml_jobdefs(path)
        return
    data = _load_yaml(path)
    if isinstance(data, Mapping):
        data = data.get("jobDefinitions", [])
    if not isinstance(data, list):
        raise ConfigError(path, "jobDefinitions", f"expected a list of job definitions, got {_kind(data)}")
    for i, item in enumerate(data):
        yield _yaml_jobdef(path, f"jobDefinitions[{i}]", item)


def _xml_jobdefs(path: Path) -> Iterator[JobDefinition]:
    """Upstream deployment descriptors: ``<jqm><jar><path/><pathType/><jobdefinitions>...``."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ConfigError(path, "(document)", f"invalid XML: {e}") from None
    except OSError as e:
        raise ConfigError(path, "(file)", f"cannot read: {e.strerror}") from None
    if root.tag != "jqm":
        raise ConfigError(path, root.tag, "the root element of a deployment descriptor must be <jqm>")
    for j, jar in enumerate(root.findall("jar")):
        jar_key = f"jqm/jar[{j}]"
        command = _xml_text(jar, "path") or _xml_text(jar, "filePath")
        if not command:
            raise ConfigError(path, f"{jar_key}/path", "is required")
        path_type = _path_type(path, f"{jar_key}/pathType", _xml_text(jar, "pathType"))
        for i, jd in enumerate(jar.findall("jobdefinitions/jobDefinition")):
            key = f"{jar_key}/jobdefinitions/jobDefinition[{i}]"
            name = _xml_text(jd, "name")
            if not name:
                raise ConfigError(path, f"{key}/name", "is required")
            yield JobDefinition(
                id=0,
                name=name,
                path=command,
                path_type=path_type,
                description=(_xml_text(jd, "description") or "").strip(),
                queue_name=_xml_text(jd, "queue"),
                can_be_restarted=_xml_bool(path, f"{key}/canBeRestarted", _xml_text(jd, "canBeRestarted"), True),
                highlander=_xml_bool(path, f"{key}/highlander", _xml_text(jd, "highlander"), False),
                max_time_running=_xml_int(path, f"{key}/maxTimeRunning", _xml_text(jd, "maxTimeRunning")),
                application=_xml_text(jd, "application"),
                module=_xml_text(jd, "module"),
                keyword1=_xml_text(jd, "keyword1"),
                keyword2=_xml_text(jd, "keyword2"),
                keyword3=_xml_text(jd, "keyword3"),
                parameters={
                    _xml_text(p, "key") or "": _xml_text(p, "value") or "" for p in jd.findall("parameters/parameter")
                },
            )


def _xml_text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    text = child.text.strip()
    return text or None


def _xml_bool(source: Path, key: str, text: str | None, default: bool) -> bool:
    if text is None:
        return default
    if text.lower() not in {"true", "false"}:
        raise ConfigError(source, key, f"expected true or false, got {text!r}")
    return text.lower() == "true"


def _xml_int(source: Path, key: str, text: str | None) -> int:
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ConfigError(source, key, f"expected an integer, got {text!r}") from None
