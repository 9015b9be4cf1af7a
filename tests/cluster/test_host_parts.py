"""Host bookkeeping of the local cluster: sysctl record and restore, mounts, image inputs."""

import json
from pathlib import Path

import pytest

from jqm_localcluster import hoststate, imagebuild, mounts


@pytest.fixture
def proc_sys(tmp_path: Path) -> Path:
    root = tmp_path / "sys"
    for name, value in {"vm.overcommit_memory": "0", "kernel.panic": "1", "net.ipv4.ip_forward": "0"}.items():
        path = root / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    return root


def test_sysctls_changed_while_up_are_restored(proc_sys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hoststate, "nft_tables", lambda: [])
    monkeypatch.setattr(hoststate, "remove_tables", lambda before: None)
    record = tmp_path / "record.json"
    hoststate.record(record, proc_sys)
    assert json.loads(record.read_text())["sysctls"]["kernel.panic"] == "1"
    hoststate.write_sysctl("kernel.panic", "10", proc_sys)  # what the kubelet does
    hoststate.write_sysctl("vm.overcommit_memory", "1", proc_sys)
    hoststate.write_sysctl("net.ipv4.ip_forward", "1", proc_sys)  # the CNI bridge plugin
    hoststate.record(record, proc_sys)  # a second up keeps the original record
    changed = hoststate.restore(record, proc_sys)
    assert changed == {"kernel.panic": "1", "vm.overcommit_memory": "0", "net.ipv4.ip_forward": "0"}
    assert hoststate.read_sysctl("kernel.panic", proc_sys) == "1"
    assert not record.exists()
    assert hoststate.restore(record, proc_sys) == {}  # idempotent


def test_every_sysctl_the_kubelet_sets_is_recorded() -> None:
    assert set(hoststate.KUBELET_SYSCTLS) <= set(hoststate.RECORDED)
    assert len(hoststate.KUBELET_SYSCTLS) == 6


MOUNTINFO = """\
22 1 8:0 / / rw - ext4 /dev/vda rw
30 22 0:50 / /state/kubelet/pods/a/volumes/x rw - tmpfs tmpfs rw
31 22 0:51 / /state/kubelet/pods/a rw - tmpfs tmpfs rw
32 22 0:52 / /state/kubelet2 rw - tmpfs tmpfs rw
33 22 0:53 / /state/kubelet/with\\040space rw - tmpfs tmpfs rw
"""


def test_mounts_under_a_directory_deepest_first() -> None:
    found = mounts.under(Path("/state/kubelet"), MOUNTINFO)
    assert found == [
        Path("/state/kubelet/pods/a/volumes/x"),
        Path("/state/kubelet/pods/a"),
        Path("/state/kubelet/with space"),
    ]


def test_image_inputs_key_follows_content_not_caches(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    image = imagebuild.Image("demo:latest", tmp_path / "Dockerfile", (tmp_path / "pkg",))
    first = imagebuild.inputs_key(image)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    assert imagebuild.inputs_key(image) == first
    assert imagebuild.inputs_key(image, "other base") != first
    (tmp_path / "pkg" / "mod.py").write_text("x = 2\n")
    assert imagebuild.inputs_key(image) != first
    assert imagebuild.archive_path(image, "abc").name == "demo-abc.tar"


def test_debian_mirror_read_from_apt_sources(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.test/debian-security\n"
    )
    assert imagebuild.debian_mirror(sources) == "http://mirror.test/debian"
