import os
from pathlib import Path

import pytest

from jqm_localcluster import layout
from jqm_localcluster.kubelet import volumes
from jqm_localcluster.kubelet.env import MissingReference
from jqm_localcluster.kubelet.volumes import Mount

POD = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "b"}},
    "spec": {"containers": [{"name": "c"}]},
    "status": {},
}
LOOKUPS = {("ConfigMap", "cm"): {"k1": "v1", "k2": "v2"}, ("Secret", "s"): {"token": "t0p"}}


def test_configmap_all_keys_and_items() -> None:
    vol = {"name": "v", "configMap": {"name": "cm"}}
    assert volumes.volume_files(vol, POD, LOOKUPS, {}, {}) == {"k1": (b"v1", 0o644), "k2": (b"v2", 0o644)}
    vol = {"name": "v", "configMap": {"name": "cm", "items": [{"key": "k2", "path": "sub/f", "mode": 0o600}]}}
    assert volumes.volume_files(vol, POD, LOOKUPS, {}, {}) == {"sub/f": (b"v2", 0o600)}


def test_missing_configmap_required_or_optional() -> None:
    with pytest.raises(MissingReference):
        volumes.volume_files({"name": "v", "configMap": {"name": "x"}}, POD, LOOKUPS, {}, {})
    assert volumes.volume_files({"name": "v", "configMap": {"name": "x", "optional": True}}, POD, LOOKUPS, {}, {}) == {}


def test_projected_service_account_volume() -> None:
    vol = {
        "name": "kube-api-access",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"secret": {"name": "s", "items": [{"key": "token", "path": "other"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            ]
        },
    }
    assert volumes.token_sources({"spec": {"volumes": [vol]}}) == {(None, 3607)}
    files = volumes.volume_files(vol, POD, LOOKUPS, {(None, 3607): "jwt"}, {})
    assert {k: v[0] for k, v in files.items()} == {"token": b"jwt", "other": b"t0p", "namespace": b"ns"}


def test_directories_and_unsupported() -> None:
    assert volumes.volume_files({"name": "v", "emptyDir": {}}, POD, {}, {}, {}) is None
    with pytest.raises(ValueError, match="persistentVolumeClaim"):
        volumes.volume_files({"name": "v", "persistentVolumeClaim": {"claimName": "c"}}, POD, {}, {}, {})


def test_atomic_writes_swap_data_link_and_drop_removed_keys(tmp_path: Path) -> None:
    assert volumes.write_atomically(tmp_path, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert (tmp_path / "a").read_text() == "1"
    assert (tmp_path / "d" / "b").read_text() == "2"
    assert os.readlink(tmp_path / "a") == "..data/a"
    assert not volumes.write_atomically(tmp_path, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert volumes.write_atomically(tmp_path, {"a": (b"new", 0o644)})
    assert (tmp_path / "a").read_text() == "new"
    assert not (tmp_path / "d").exists()
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("..") and p.is_dir() and not p.is_symlink()]) == 1


def test_mounts_private_tmp_first_then_parents_before_children(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "f").write_text("x")
    container = {
        "volumeMounts": [
            {"name": "inner", "mountPath": "/etc/app/inner", "readOnly": True},
            {"name": "cfg", "mountPath": "/etc/app"},
            {"name": "cfg", "mountPath": "/opt/f", "subPath": "f"},
        ]
    }
    dirs = {"inner": tmp_path / "inner", "cfg": tmp_path / "cfg"}
    mounts = volumes.container_mounts(container, dirs, tmp_path / "tmp")
    mounts = [m for m in mounts if m.target != str(layout.REPO_ROOT)]  # present when the checkout is under /tmp
    assert [m.target for m in mounts] == ["/tmp", "/etc/app", "/opt/f", "/etc/app/inner"]
    assert mounts[-1].read_only
    assert mounts[2].source == str(tmp_path / "cfg" / "f")


def test_working_dir_private_unless_a_volume_provides_it(tmp_path: Path) -> None:
    mounts = [Mount("/src", "/data")]
    assert volumes.working_dir(None, tmp_path, mounts) == (str(tmp_path), None)
    assert volumes.working_dir("/data/x", tmp_path, mounts) == ("/data/x", None)
    assert volumes.working_dir("/var/lib/jqm", tmp_path, mounts) == (
        "/var/lib/jqm",
        Mount(str(tmp_path), "/var/lib/jqm"),
    )


def test_a_checkout_under_tmp_stays_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "REPO_ROOT", Path("/tmp/clone"))
    mounts = volumes.container_mounts({"name": "c"}, {}, tmp_path)
    assert [(m.source, m.target) for m in mounts] == [(str(tmp_path), "/tmp"), ("/tmp/clone", "/tmp/clone")]
