"""The container images the local cluster runs, built from Dockerfiles and cached by their inputs.

``make images`` builds the project's images from ``node/Dockerfile`` and ``operator/Dockerfile``
unchanged, and the cluster's own pause, CoreDNS and Traefik images from ``cluster/images/`` (their
binaries come from ``cluster/build.sh``). With a running Docker engine it uses ``docker build``;
without one, buildah on a ``python:3.11-slim-bookworm`` base made locally by debootstrap (no registry
is reachable here). Each image is saved as a docker-archive named by the hash of its inputs in
``<cache>/images``: an image whose inputs did not change is not rebuilt. The archives are what the
local cluster's containerd imports and what ``kind load image-archive`` loads.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jqm_localcluster import hostpkgs, layout, mounts

IMAGES_DIR = "images"
RECIPE_VERSION = "1"  # bump when the way images are built changes without their inputs changing
SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".egg-info")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Image:
    """One image: its reference, its Dockerfile, and what goes into its build context."""

    ref: str  # as a pod names it: "jqm-node:latest" (containerd stores docker.io/library/jqm-node:latest)
    dockerfile: Path
    context_files: tuple[Path, ...]  # files or directories, copied to the build context under their names
    on_python_base: bool = False  # FROM python:3.11-slim-bookworm: the base's recipe is an input too

    @property
    def short_name(self) -> str:
        return self.ref.rsplit("/", 1)[-1].split(":", 1)[0]


def project_images(root: Path = layout.REPO_ROOT) -> tuple[Image, ...]:
    """The project's own images: built from the repository root as their Dockerfiles say."""
    common = (root / "pyproject.toml", root / "README.md")
    return (
        Image(layout.NODE_IMAGE, root / "node" / "Dockerfile", (*common, root / "node"), on_python_base=True),
        Image(
            layout.OPERATOR_IMAGE, root / "operator" / "Dockerfile", (*common, root / "operator"), on_python_base=True
        ),
    )


def ingress_image(bins: layout.Binaries, root: Path = layout.REPO_ROOT) -> Image:
    """Traefik, the ingress controller (the kind path loads it too)."""
    return Image(layout.TRAEFIK_IMAGE, root / "cluster" / "images" / "traefik.Dockerfile", (bins.traefik,))


def cluster_images(bins: layout.Binaries, root: Path = layout.REPO_ROOT) -> tuple[Image, ...]:
    """The cluster's system images: one static binary each, from cluster/build.sh."""
    images = root / "cluster" / "images"
    return (
        Image(layout.PAUSE_IMAGE, images / "pause.Dockerfile", (bins.pause,)),
        Image(layout.COREDNS_IMAGE, images / "coredns.Dockerfile", (bins.coredns,)),
        ingress_image(bins, root),
    )


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for item in sorted(path.rglob("*")):
        skipped = SKIPPED_PARTS & set(item.parts) or any(part.endswith(SKIPPED_SUFFIXES) for part in item.parts)
        if item.is_file() and not skipped:
            yield item


def inputs_key(image: Image, extra: str = "") -> str:
    """A hash of everything the build reads: the Dockerfile, the context files (names and contents),
    the recipe version and ``extra`` (the base image's key)."""
    digest = hashlib.sha256(f"{RECIPE_VERSION}\n{image.ref}\n{extra}\n".encode())
    digest.update(image.dockerfile.read_bytes())
    for top in image.context_files:
        for item in _files(top):
            name = item.relative_to(top.parent).as_posix()
            digest.update(f"\0{name}\0{item.stat().st_mode & 0o111}\0".encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()[:16]


def archive_path(image: Image, key: str) -> Path:
    return layout.cache_dir() / IMAGES_DIR / f"{image.short_name}-{key}.tar"


def _context(image: Image, into: Path) -> None:
    """The build context: each context file under its own name, directories without caches."""
    for top in image.context_files:
        for item in _files(top):
            target = into / item.relative_to(top.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target)


def _run(argv: Sequence[str | Path], *, quiet: bool = False) -> None:
    subprocess.run([str(a) for a in argv], check=True, stdout=subprocess.DEVNULL if quiet else None)


def docker_engine() -> bool:
    """A Docker client that reaches a running engine."""
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0


class Docker:
    """docker build + docker save."""

    base_key = "docker"

    def build(self, image: Image, context: Path, archive: Path) -> None:
        _run(["docker", "build", "-f", context / "Dockerfile", "-t", image.ref, context])
        _run(["docker", "save", "-o", archive, image.ref])


class Buildah:
    """buildah bud with its storage in the cache; the python base made by debootstrap when missing."""

    def __init__(self) -> None:
        hostpkgs.ensure(hostpkgs.IMAGE_BUILD)
        self.root = layout.cache_dir() / "buildah"
        self.global_flags = [
            f"--root={self.root / 'storage'}",
            f"--runroot={layout.RUNTIME_DIR / 'buildah'}",
            "--storage-driver=overlay",
        ]
        self.base_key = base_key()

    def buildah(self, *args: str | Path, capture: bool = False) -> str:
        done = subprocess.run(
            ["buildah", *self.global_flags, *map(str, args)], check=True, capture_output=capture, text=True
        )
        return done.stdout if capture else ""

    def _labelled(self, ref: str) -> str | None:
        """The inputs label of a stored image, or None when it is not stored."""
        found = subprocess.run(
            ["buildah", *self.global_flags, "inspect", "--type=image",
             '--format={{index .OCIv1.Config.Labels "jqm.inputs"}}', ref],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return found.stdout.strip() if found.returncode == 0 else None

    def ensure_base(self) -> None:
        """The local stand-in for python:3.11-slim-bookworm, made once per recipe."""
        if self._labelled(layout.PYTHON_BASE_IMAGE) == self.base_key:
            return
        with tempfile.TemporaryDirectory(prefix="jqm-base-", dir=layout.cache_dir()) as tmp:
            rootfs = Path(tmp) / "rootfs"
            try:
                make_base_rootfs(rootfs)
                tarball = Path(tmp) / "rootfs.tar"
                _run(["tar", "-C", rootfs, "--numeric-owner", "-cf", tarball, "."])
            finally:
                mounts.unmount_under(rootfs)
            container = self.buildah("from", "scratch", capture=True).strip()
            try:
                self.buildah("add", container, tarball, "/")
                self.buildah(
                    "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--env", "LANG=C.UTF-8", "--cmd", '["python3"]', "--label", f"jqm.inputs={self.base_key}",
                    "--created-by", f"debootstrap --variant=minbase --include={','.join(BASE_PACKAGES)} bookworm",
                    container,
                )  # fmt: skip
                self.buildah("commit", "--rm", container, layout.PYTHON_BASE_IMAGE)
            except subprocess.CalledProcessError:
                self.buildah("rm", container)
                raise

    def build(self, image: Image, context: Path, archive: Path) -> None:
        self.ensure_base()
        # PyPI may be reached through a TLS-intercepting proxy: the build trusts what the host trusts.
        ca = [f"--volume={HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"] if HOST_CA_BUNDLE.exists() else []
        try:
            self.buildah(
                "bud", "--isolation=chroot", "--pull=never", "--layers", "--force-rm", *ca,
                "-f", context / "Dockerfile", "-t", image.ref, context,
            )  # fmt: skip
            self.buildah("push", image.ref, f"docker-archive:{archive}:{image.ref}")
        finally:
            self.release()

    def release(self) -> None:
        """Unmount what the overlay storage keeps mounted between builds (no mount outlives a build)."""
        mounts.unmount_under(self.root)


BASE_PACKAGES = ("python3", "python3-pip")
BASE_CLEANUP = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)


# As in Debian's official container images: apt keeps no package caches, downloads no translations,
# and dpkg leaves out documentation and locales, so `apt-get install` in a Dockerfile adds only the package.
BASE_CONFIG = {
    "etc/apt/apt.conf.d/docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
        ' /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
        ' /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
    "etc/apt/apt.conf.d/docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "etc/dpkg/dpkg.cfg.d/docker": (
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n"
    ),
}


def base_key() -> str:
    config = "".join(f"{path}\n{text}" for path, text in sorted(BASE_CONFIG.items()))
    recipe = f"{RECIPE_VERSION} bookworm minbase {' '.join(BASE_PACKAGES)} {' '.join(BASE_CLEANUP)} {config}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def debian_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The Debian mirror apt uses here (deb822 ``URIs:`` or a ``deb`` line), else deb.debian.org."""
    for path in (sources, Path("/etc/apt/sources.list")):
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and "security" not in line:
                return next(w for w in words[1:] if "://" in w)
    return "http://deb.debian.org/debian"


def make_base_rootfs(rootfs: Path) -> None:
    """Debian bookworm minbase with Python 3.11 and pip, made to behave like the official image:
    ``python`` and ``pip`` on PATH, pip allowed to install system-wide, no package caches, docs,
    locales or bytecode (about 127 MB)."""
    packages = ",".join(BASE_PACKAGES)
    _run(["debootstrap", "--variant=minbase", f"--include={packages}", "bookworm", rootfs, debian_mirror()], quiet=True)
    for part in BASE_CLEANUP:
        for item in (rootfs / part).glob("*"):
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            elif item.name != "lock":
                item.unlink()
    # Like the official image: no compiled bytecode shipped (Python compiles what it imports).
    for cache in sorted((rootfs / "usr/lib").glob("python3*/**/__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for path, text in BASE_CONFIG.items():
        (rootfs / path).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / path).write_text(text)
    for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        link = rootfs / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def engine() -> Docker | Buildah:
    return Docker() if docker_engine() else Buildah()


def build(images: Sequence[Image], builder: Docker | Buildah | None = None) -> dict[str, Path]:
    """Build what is not cached; returns image reference -> docker-archive."""
    archives: dict[str, Path] = {}
    for image in images:
        builder = builder or engine()
        key = inputs_key(image, builder.base_key if image.on_python_base else "")
        archive = archive_path(image, key)
        if not archive.exists():
            print(f"building {image.ref} ({key})", flush=True)
            archive.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="jqm-image-") as tmp:
                context = Path(tmp)
                _context(image, context)
                shutil.copy2(image.dockerfile, context / "Dockerfile")
                partial = archive.with_suffix(".tmp")
                partial.unlink(missing_ok=True)
                builder.build(image, context, partial)
                partial.rename(archive)
            for stale in archive.parent.glob(f"{image.short_name}-*.tar"):
                if stale != archive:
                    stale.unlink()
        archives[image.ref] = archive
    return archives


def archive_sizes(archives: dict[str, Path]) -> dict[str, int]:
    return {ref: os.path.getsize(path) for ref, path in archives.items()}
