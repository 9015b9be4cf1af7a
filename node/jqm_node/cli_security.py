"""The command-line options of what makes a node safe to expose, and the ``hash-password`` subcommand.

Kept apart from :mod:`jqm_node.cli` so that the security options read as one whole: authentication
(``--auth``, ``--users``), node-to-node signatures (``--cluster-secret-file``), the management
listener, TLS, and the limits on slow or large requests.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from jqm_node.auth.passwords import DEFAULT_ITERATIONS, MAX_ITERATIONS, hash_password

OPTIONS = (  # option, environment variable, help
    ("--auth", "JQM_AUTH", "on or off: authentication and authorization of every call but health"),
    ("--users", "JQM_USERS", "comma-separated users files"),
    ("--cluster-secret-file", "JQM_CLUSTER_SECRET_FILE", "key of node-to-node signatures"),
    ("--management-listen", "JQM_MANAGEMENT_LISTEN", "HOST:PORT of status, drain, undrain, metrics"),
    ("--management-token-file", "JQM_MANAGEMENT_TOKEN_FILE", "bearer token of drain and undrain"),
    ("--tls-cert-file", "JQM_TLS_CERT_FILE", "TLS certificate (PEM) of the client listener"),
    ("--tls-key-file", "JQM_TLS_KEY_FILE", "its private key"),
    ("--tls-ca-file", "JQM_TLS_CA_FILE", "the CA peers' certificates must chain to"),
    ("--header-timeout", "JQM_HEADER_TIMEOUT", "seconds to send request headers; also the idle keep-alive limit"),
    ("--body-timeout", "JQM_BODY_TIMEOUT", "seconds to send a request body"),
    ("--max-input-files", "JQM_MAX_INPUT_FILES", "input files per job"),
    ("--max-input-bytes", "JQM_MAX_INPUT_BYTES", "total bytes of a job's input files"),
)
"""What makes a node safe to expose: authentication, node-to-node signatures, the management listener, TLS,
and the limits on slow or large requests (checked by :mod:`jqm_node.config.settings`)."""


def hash_password_command(argv: Sequence[str]) -> int:
    """``jqm-node hash-password``: reads a password on stdin (asked twice on a terminal), prints its hash."""
    p = argparse.ArgumentParser(prog="jqm-node hash-password", description="Prints the passwordHash of a password.")
    p.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS, help=f"default {DEFAULT_ITERATIONS}")
    args = p.parse_args(argv)
    if not 1 <= args.iterations <= MAX_ITERATIONS:
        print(f"jqm-node hash-password: --iterations must be between 1 and {MAX_ITERATIONS}", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("jqm-node hash-password: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("jqm-node hash-password: the password is empty", file=sys.stderr)
        return 2
    print(hash_password(password, iterations=args.iterations))
    return 0
