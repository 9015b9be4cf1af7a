"""containerd for the local cluster: its configuration, image imports, and removing every pod sandbox.

containerd (Debian's package, with runc) runs with a configuration of its own: socket and runtime
state under /run/jqm-localcluster, images and snapshots in the state directory, the CNI plugins of
/usr/lib/cni and the project's own (``podnet.install_plugins``), and no system-wide file touched
(the ``opt`` plugin, which creates /opt/containerd, is off). Nothing is pulled: images are imported
from the archives ``make images`` made.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from jqm_localcluster import layout, procs

NAMESPACE = "k8s.io"  # the namespace the CRI plugin (and so the kubelet) sees
RUNC = "/usr/sbin/runc"


def full_ref(ref: str) -> str:
    """The name containerd stores an image under (Docker's normalisation): jqm-node:latest ->
    docker.io/library/jqm-node:latest, jqm-local/pause:3 -> docker.io/jqm-local/pause:3."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def config(state: layout.StateDir) -> str:
    """containerd's config.toml (version 2)."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{state.containerd_root}"
state = "{layout.RUNTIME_DIR / "containerd"}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{layout.CONTAINERD_SOCKET}"

[debug]
  level = "warn"

[{cri}]
  sandbox_image = "{full_ref(layout.PAUSE_IMAGE)}"
  # No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj below the parent's.
  restrict_oom_score_adj = true
  # Pod network namespaces under /run/jqm-localcluster, not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "{RUNC}"
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{state.cni_bin}"
  conf_dir = "{state.cni_conf}"
  max_conf_num = 1
"""


def argv(state: layout.StateDir) -> list[str]:
    return ["containerd", f"--config={state.config / 'containerd.toml'}"]


def ctr(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ctr", f"--address={layout.CONTAINERD_SOCKET}", f"--namespace={NAMESPACE}", *args],
        capture_output=True, text=True, check=check, timeout=timeout,
    )  # fmt: skip


def answering() -> bool:
    return (
        layout.CONTAINERD_SOCKET.exists()
        and subprocess.run(
            ["ctr", f"--address={layout.CONTAINERD_SOCKET}", "version"], capture_output=True, check=False, timeout=10
        ).returncode
        == 0
    )


def wait_answering(daemon: procs.Daemon, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not answering():
        if daemon.pid() is None:
            raise RuntimeError(f"containerd exited; see {daemon.logfile}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"containerd not answering on {layout.CONTAINERD_SOCKET} after {timeout:.0f} s")
        time.sleep(0.2)


def import_images(state: layout.StateDir, archives: dict[str, Path]) -> list[str]:
    """Import the archives whose image is missing or was built from other inputs; returns their refs.
    The record of what was imported lives beside containerd's root (they go together)."""
    record_file = state.containerd_root / "jqm-imported.json"
    try:
        record: dict[str, str] = json.loads(record_file.read_text())
    except (OSError, ValueError):
        record = {}
    present = set(ctr("images", "list", "--quiet").stdout.split())
    imported = []
    for ref, archive in archives.items():
        if record.get(ref) == archive.name and full_ref(ref) in present:
            continue
        ctr("images", "import", str(archive), timeout=600)
        if full_ref(ref) not in set(ctr("images", "list", "--quiet").stdout.split()):
            raise RuntimeError(f"{archive} did not give the image {full_ref(ref)}")
        record[ref] = archive.name
        imported.append(ref)
    record_file.parent.mkdir(parents=True, exist_ok=True)
    record_file.write_text(json.dumps(record, indent=1))
    return imported


def remove_all_pods(crictl: Path) -> None:
    """Stop and remove every pod sandbox through the CRI (containers killed, CNI DEL run, network
    namespaces and mounts released), as a node shutdown would. containerd must be running."""
    base = [str(crictl), f"--runtime-endpoint=unix://{layout.CONTAINERD_SOCKET}", "--timeout=60s"]
    subprocess.run([*base, "rmp", "--all", "--force"], capture_output=True, check=False, timeout=300)
    left = subprocess.run([*base, "pods", "--quiet"], capture_output=True, text=True, check=False, timeout=60)
    for sandbox in left.stdout.split():
        subprocess.run([*base, "rmp", "--force", sandbox], capture_output=True, check=False, timeout=120)
