from pathlib import Path

import pytest

from jqm_localcluster.kubelet import images
from jqm_localcluster.kubelet.images import ImageConfig, ImageRule

NODE_DOCKERFILE = """
FROM python:3.11-slim AS build
ENTRYPOINT ["ignored"]
FROM python:3.11-slim
WORKDIR /var/lib
WORKDIR jqm
ENV JQM_LISTEN=0.0.0.0:1789 \\
    JQM_WORKDIR=/var/lib/jqm/work
ENV LEGACY some value
ENTRYPOINT ["/usr/bin/tini", "--", "jqm-node"]
"""


def test_dockerfile_final_stage_entrypoint_env_workdir() -> None:
    cfg = images.parse_dockerfile(NODE_DOCKERFILE)
    assert cfg.entrypoint == ("/usr/bin/tini", "--", "jqm-node")
    assert cfg.cmd == ()
    assert dict(cfg.env) == {
        "JQM_LISTEN": "0.0.0.0:1789",
        "JQM_WORKDIR": "/var/lib/jqm/work",
        "LEGACY": "some value",
    }
    assert cfg.workdir == "/var/lib/jqm"


def test_shell_form_and_entrypoint_resets_cmd() -> None:
    cfg = images.parse_dockerfile('FROM x\nCMD ["a"]\nENTRYPOINT kopf run -m m\n')
    assert cfg.entrypoint == ("/bin/sh", "-c", "kopf run -m m")
    assert cfg.cmd == ()


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, ["ep", "c1"]),
        (None, ["a1"], ["ep", "a1"]),
        (["cmd"], None, ["cmd"]),
        (["cmd"], ["a1"], ["cmd", "a1"]),
    ],
)
def test_kubernetes_command_and_args_rules(command, args, expected) -> None:
    cfg = ImageConfig(entrypoint=("ep",), cmd=("c1",))
    assert images.container_argv(command, args, cfg) == expected


def test_rule_reads_dockerfile_when_present_else_fallback(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    rules = (ImageRule("jqm-node", ImageConfig(entrypoint=("fallback",)), dockerfile),)
    assert images.image_config("registry/jqm-node:1", rules).entrypoint == ("fallback",)
    dockerfile.write_text('FROM x\nENTRYPOINT ["jqm-node"]\n')
    assert images.image_config("registry/jqm-node:1", rules).entrypoint == ("jqm-node",)
    with pytest.raises(images.UnknownImage, match="nginx"):
        images.image_config("nginx:1", rules)


def test_localize_prefers_venv_and_drops_init_wrappers(tmp_path: Path) -> None:
    (tmp_path / "jqm-node").touch()
    assert images.localize(["/usr/bin/tini", "--", "jqm-node", "--x"], tmp_path) == [str(tmp_path / "jqm-node"), "--x"]
    assert images.localize(["sh", "-c", "true"], tmp_path)[0].endswith("/sh")
    with pytest.raises(images.UnknownImage):
        images.localize(["no-such-executable-here"], tmp_path)
