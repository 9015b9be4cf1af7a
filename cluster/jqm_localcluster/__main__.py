"""Command line: python -m jqm_localcluster {up,down,status,run,kubelet,services}."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jqm_localcluster import cluster, layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jqm_localcluster", description=__doc__)
    parser.add_argument(
        "--state",
        type=lambda p: layout.StateDir(Path(p)),
        default=None,
        help="state directory (default: .state/cluster or $JQM_CLUSTER_STATE)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start control plane, kubelet and load balancer (idempotent)")
    sub.add_parser("down", help="stop everything (idempotent)")
    sub.add_parser("status", help="what is running (exit code 3 unless everything runs)")
    run = sub.add_parser("run", help="run a command on the cluster (started, and stopped after, if it was down)")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="the command, after --")
    sub.add_parser("kubelet", help="run the process kubelet in the foreground")
    sub.add_parser("services", help="run the load balancers and cluster DNS in the foreground")
    args = parser.parse_args(argv)
    state = args.state or layout.StateDir.default()
    if args.command == "run":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not command:
            parser.error("run needs a command after --")
        return cluster.run_with_cluster(state, command)
    return cluster.run_command(args.command, state)


if __name__ == "__main__":
    sys.exit(main())
