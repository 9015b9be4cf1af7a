from pathlib import Path

import pytest

from jqm_node.config import ConfigError, load_job_definition_files, load_node_config
from jqm_node.model import PathType

DESCRIPTOR = """<jqm>
  <jar>
    <path>echo hello</path>
    <pathType>DEFAULTSHELLCOMMAND</pathType>
    <jobdefinitions>
      <jobDefinition>
        <name>DemoEcho</name>
        <description>  Echo  </description>
        <canBeRestarted>false</canBeRestarted>
        <javaClassName></javaClassName>
        <maxTimeRunning>5</maxTimeRunning>
        <application>JQM</application>
        <module>Demos</module>
        <keyword1>k1</keyword1>
        <highlander>true</highlander>
        <parameters>
          <parameter><key>p1</key><value>v1</value></parameter>
        </parameters>
      </jobDefinition>
    </jobdefinitions>
  </jar>
</jqm>
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_config_means_one_default_queue() -> None:
    config = load_node_config(None)
    assert [(q.name, q.default, q.max_threads) for q in config.queues] == [("DEFAULT", True, 10)]
    assert config.job_definitions == []


def test_yaml_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "node.yaml",
        """
name: n1
shutdownGraceSeconds: 5
queues:
  - {name: fast, maxThreads: 2, pollingIntervalMs: 10}
  - {name: slow, default: true, enabled: false}
jobDefinitions:
  - name: A
    path: /bin/true
    pathType: DIRECTEXECUTABLE
    queue: fast
    parameters: {b: 2, a: 1}
""",
    )
    config = load_node_config(path)
    assert config.name == "n1" and config.shutdown_grace_seconds == 5
    assert [(q.name, q.max_threads, q.enabled, q.default) for q in config.queues] == [
        ("fast", 2, True, False),
        ("slow", 10, False, True),
    ]
    (jd,) = config.job_definitions
    assert (jd.name, jd.path_type, jd.queue_name, jd.parameters) == (
        "A",
        PathType.DIRECTEXECUTABLE,
        "fast",
        {"b": "2", "a": "1"},
    )


def test_upstream_xml_descriptor(tmp_path: Path) -> None:
    (jd,) = load_job_definition_files(write(tmp_path, "demo.xml", DESCRIPTOR))
    assert jd.name == "DemoEcho"
    assert jd.path == "echo hello"
    assert jd.path_type is PathType.DEFAULTSHELLCOMMAND
    assert jd.description == "Echo"
    assert (jd.can_be_restarted, jd.highlander, jd.max_time_running) == (False, True, 5)
    assert (jd.application, jd.module, jd.keyword1, jd.keyword2) == ("JQM", "Demos", "k1", None)
    assert jd.parameters == {"p1": "v1"}


def test_directory_of_definitions(tmp_path: Path) -> None:
    write(tmp_path, "a.xml", DESCRIPTOR)
    write(tmp_path, "b.yaml", "- {name: B, path: 'true'}\n")
    write(tmp_path, "c.yml", "jobDefinitions: [{name: C, path: 'true'}]\n")
    write(tmp_path, "notes.txt", "ignored")
    assert [jd.name for jd in load_job_definition_files(tmp_path)] == ["DemoEcho", "B", "C"]


@pytest.mark.parametrize("path_type", ["FS", "MAVEN", "MEMORY", ""])
def test_java_payloads_are_refused(tmp_path: Path, path_type: str) -> None:
    text = DESCRIPTOR.replace("<pathType>DEFAULTSHELLCOMMAND</pathType>", f"<pathType>{path_type}</pathType>")
    with pytest.raises(ConfigError, match="Java payload; this engine runs processes, not JARs"):
        load_job_definition_files(write(tmp_path, "java.xml", text))


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("queues: [{name: q, maxThreads: zero}]", "queues[0].maxThreads", "expected an integer"),
        ("queues: [{name: q, maxThreads: 0}]", "queues[0].maxThreads", "must be at least 1"),
        ("queues: [{description: x}]", "queues[0].name", "is required"),
        ("queues: [{name: a, default: true}, {name: b, default: true}]", "queues", "only one queue"),
        ("queues: [{name: a}, {name: a}]", "queues", "duplicate queue name"),
        ("jobDefinitions: [{name: a}]", "jobDefinitions[0].path", "is required"),
        ("jobDefinitions: [{name: a, path: x, pathType: JAVA}]", "jobDefinitions[0].pathType", "unknown pathType"),
        ("jobDefinitions: [{name: a, path: x, highlander: maybe}]", "jobDefinitions[0].highlander", "true or false"),
        ("jobDefinitions: [{name: a, path: x, parameters: [1]}]", "jobDefinitions[0].parameters", "mapping"),
        ("queue: []", "queue", "unknown key"),
        ("[1, 2]", "(document)", "expected a mapping"),
        ("a: [", "(document)", "invalid YAML"),
    ],
)
def test_invalid_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as error:
        load_node_config(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {key}: ")
    assert problem in message


def test_invalid_xml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid XML"):
        load_job_definition_files(write(tmp_path, "bad.xml", "<jqm><jar>"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_job_definition_files(tmp_path / "missing.xml")
