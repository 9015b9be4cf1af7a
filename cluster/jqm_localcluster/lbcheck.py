"""Waits until a load balancer spreads requests over a given number of distinct backends.

``make up`` uses it on the JqmCluster's health URL: after a restart of the local cluster the
JqmCluster's status may still say Available from before while the node pods are being restarted, so
only answers from every node prove the cluster is usable. Bounded in time; one connection per request.

    python -m jqm_localcluster.lbcheck URL COUNT [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request


def distinct_backends(url: str, count: int, timeout: float) -> set[str]:
    """Answers' last words (``... - IP: 10.244.0.5``) until ``count`` distinct ones, or the timeout."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                seen.add(answer.read().decode().rsplit(" ", 1)[-1])
        except OSError:
            time.sleep(0.5)
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jqm_localcluster.lbcheck", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    seen = distinct_backends(args.url, args.count, args.timeout)
    if len(seen) < args.count:
        print(f"{args.url}: {len(seen)} of {args.count} backends answered in {args.timeout:.0f} s", file=sys.stderr)
        return 1
    print(f"{args.url}: answers from {len(seen)} backends ({', '.join(sorted(seen))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
