"""Pod volumes as directories on the host, and the bind mounts that put them at their mount paths."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from jqm_localcluster import layout
from jqm_localcluster.kubelet.env import Lookups, MissingReference, field_ref, resource_ref

Obj = dict[str, Any]
Files = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)
# (audience, expirationSeconds) -> token, for the pod's projected service-account tokens.
Tokens = Mapping[tuple[str | None, int], str]

DEFAULT_MODE = 0o644
DEFAULT_TOKEN_SECONDS = 3607


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = False


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _keyed_files(kind: str, name: str, items: list[Obj] | None, mode: int, optional: bool, lookups: Lookups) -> Files:
    data = lookups.get((kind, name))
    if data is None:
        if optional:
            return {}
        raise MissingReference(f"{kind} {name}")
    if not items:
        return {key: (encode(value), mode) for key, value in data.items()}
    files: Files = {}
    for item in items:
        if item["key"] not in data:
            if optional:
                continue
            raise MissingReference(f"{kind} {name} key {item['key']}")
        files[item["path"]] = (encode(data[item["key"]]), item.get("mode", mode))
    return files


def _downward_files(pod: Obj, items: list[Obj], mode: int, allocatable: Mapping[str, str]) -> Files:
    files: Files = {}
    for item in items:
        if "fieldRef" in item:
            value = field_ref(pod, item["fieldRef"]["fieldPath"])
        else:
            ref = item["resourceFieldRef"]
            container = next(c for c in pod["spec"]["containers"] if c["name"] == ref["containerName"])
            value = resource_ref(container, ref, allocatable)
        files[item["path"]] = (encode(value), item.get("mode", mode))
    return files


def token_sources(pod: Obj) -> set[tuple[str | None, int]]:
    """The (audience, expirationSeconds) of every projected service-account token the pod mounts."""
    found = set()
    for volume in pod["spec"].get("volumes", []):
        for source in volume.get("projected", {}).get("sources", []):
            if "serviceAccountToken" in source:
                sat = source["serviceAccountToken"]
                found.add((sat.get("audience"), sat.get("expirationSeconds", DEFAULT_TOKEN_SECONDS)))
    return found


def volume_files(
    volume: Obj, pod: Obj, lookups: Lookups, tokens: Tokens, allocatable: Mapping[str, str]
) -> Files | None:
    """The files of a content volume (ConfigMap, Secret, downwardAPI, projected); None for directories."""
    for source, kind, name_key in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
        if source in volume:
            v = volume[source]
            mode, optional = v.get("defaultMode", DEFAULT_MODE), v.get("optional", False)
            return _keyed_files(kind, v[name_key], v.get("items"), mode, optional, lookups)
    if "downwardAPI" in volume:
        v = volume["downwardAPI"]
        return _downward_files(pod, v.get("items", []), v.get("defaultMode", DEFAULT_MODE), allocatable)
    if "projected" in volume:
        v = volume["projected"]
        mode = v.get("defaultMode", DEFAULT_MODE)
        files: Files = {}
        for s in v.get("sources", []):
            if "serviceAccountToken" in s:
                sat = s["serviceAccountToken"]
                key = (sat.get("audience"), sat.get("expirationSeconds", DEFAULT_TOKEN_SECONDS))
                files[sat["path"]] = (encode(tokens[key]), mode)
            elif "configMap" in s or "secret" in s:
                kind, ref = ("ConfigMap", s["configMap"]) if "configMap" in s else ("Secret", s["secret"])
                files.update(
                    _keyed_files(kind, ref["name"], ref.get("items"), mode, ref.get("optional", False), lookups)
                )
            elif "downwardAPI" in s:
                files.update(_downward_files(pod, s["downwardAPI"].get("items", []), mode, allocatable))
        return files
    if "emptyDir" in volume or "hostPath" in volume:
        return None
    kinds = sorted(k for k in volume if k != "name")
    raise ValueError(f"volume {volume['name']}: unsupported type {kinds}")


def write_atomically(directory: Path, files: Files) -> bool:
    """The kubelet's layout: files in a timestamped dir, `..data` symlinked to it, each top-level name
    a symlink through `..data`. Returns False when the content is unchanged."""
    directory.mkdir(parents=True, exist_ok=True)
    current = directory / "..data"
    if current.exists() and _read_tree(current) == files:
        return False
    stamp = directory / f"..{time.time_ns()}"
    for rel, (content, mode) in files.items():
        path = stamp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    stamp.mkdir(exist_ok=True)
    tmp_link = directory / "..data_tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(stamp.name)
    old = os.readlink(current) if current.is_symlink() else None
    tmp_link.replace(current)
    tops = {PurePosixPath(rel).parts[0] for rel in files}
    for top in tops:
        link = directory / top
        if not link.is_symlink():
            link.symlink_to(f"..data/{top}")
    for entry in directory.iterdir():
        if not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old is not None:
        shutil.rmtree(directory / old, ignore_errors=True)
    return True


def _read_tree(root: Path) -> Files:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o777) for p in root.rglob("*") if p.is_file()
    }


def ordered(mounts: list[Mount]) -> list[Mount]:
    """Parents before children, so a mount inside another lands in it."""
    return sorted(mounts, key=lambda m: len(PurePosixPath(m.target).parts))


def container_mounts(container: Obj, volume_dirs: Mapping[str, Path], tmp_dir: Path) -> list[Mount]:
    """Bind mounts of one container: a private /tmp, then its volumeMounts.

    The project's checkout stays visible through the private /tmp (a clone under /tmp, as CI may use):
    the images' programs run from its virtualenv and sources."""
    mounts = [Mount(str(tmp_dir), "/tmp")]
    if layout.REPO_ROOT.is_relative_to("/tmp"):
        mounts.append(Mount(str(layout.REPO_ROOT), str(layout.REPO_ROOT)))
    for vm in container.get("volumeMounts", []):
        source = volume_dirs[vm["name"]]
        if vm.get("subPath"):
            # Like the kubelet: a subPath is the file/dir as it is now (not updated later).
            source = (source / vm["subPath"]).resolve()
        mounts.append(Mount(str(source), vm["mountPath"], bool(vm.get("readOnly"))))
    return ordered(mounts)


def working_dir(wanted: str | None, private: Path, mounts: list[Mount]) -> tuple[str, Mount | None]:
    """The container's working directory (its workingDir, else the image's WORKDIR, else `private`),
    and the mount that puts the private directory there unless a volume already provides it."""
    if wanted is None:
        return str(private), None
    if any(PurePosixPath(wanted).is_relative_to(m.target) for m in mounts):
        return wanted, None
    return wanted, Mount(str(private), wanted)
