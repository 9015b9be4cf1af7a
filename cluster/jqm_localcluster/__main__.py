"""Command line: python -m jqm_localcluster {up,down,status,run,images,packages,loadbalancer}."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jqm_localcluster import cluster, containerd, hostpkgs, imagebuild, layout


def images(state: layout.StateDir, which: str) -> int:
    """Build (when their inputs changed) and list the images; import them if the cluster runs."""
    wanted = list(imagebuild.project_images())
    if which == "all":
        wanted += imagebuild.cluster_images(layout.Binaries.from_cache())
    archives = imagebuild.build(wanted)
    for ref, archive in archives.items():
        print(f"{ref:32} {archive.stat().st_size / 2**20:7.1f} MiB  {archive}")
    if containerd.answering():
        for ref in containerd.import_images(state, archives):
            print(f"imported {ref} into the local cluster")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jqm_localcluster", description=__doc__)
    parser.add_argument(
        "--state",
        type=lambda p: layout.StateDir(Path(p)),
        default=None,
        help="state directory (default: .state/cluster or $JQM_CLUSTER_STATE)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the cluster and its system workloads (idempotent)")
    sub.add_parser("down", help="stop everything and restore the host (idempotent)")
    sub.add_parser("status", help="what is running (exit code 3 unless everything runs)")
    run = sub.add_parser("run", help="run a command on the cluster (started, and stopped after, if it was down)")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="the command, after --")
    build = sub.add_parser("images", help="build the images whose inputs changed; import them if the cluster runs")
    build.add_argument("which", nargs="?", choices=("project", "all"), default="all")
    sub.add_parser("packages", help="install the Debian packages the cluster needs")
    sub.add_parser("loadbalancer", help="run the load balancers in the foreground")
    args = parser.parse_args(argv)
    state = args.state or layout.StateDir.default()
    if args.command == "run":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not command:
            parser.error("run needs a command after --")
        return cluster.run_with_cluster(state, command)
    if args.command == "images":
        return images(state, args.which)
    if args.command == "packages":
        hostpkgs.ensure(hostpkgs.RUNTIME)
        return 0
    return cluster.run_command(args.command, state)


if __name__ == "__main__":
    sys.exit(main())
