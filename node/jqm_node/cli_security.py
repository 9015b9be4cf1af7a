"""Command-line options of what makes a node safe to expose, and the ``hash-password`` subcommand.

Kept apart from :mod:`jqm_node.cli` so that the security options read as one whole: authentication
(``--auth``, ``--users``), node-to-node signatures (``--cluster-secret-file``), the management
listener, TLS, and the limits on slow or large requests.
"""

from __future__ import annotations

import argparse
import getpass
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from jqm_node.auth.passwords import DEFAULT_ITERATIONS, MAX_ITERATIONS, hash_password
from jqm_node.config import ConfigError
from jqm_node.security_settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_INPUT_FILES,
    SecuritySettings,
    TlsFiles,
)
from jqm_node.tls import server_context

MIN_SECRET_BYTES = 16
_SWITCH = {"on": True, "true": True, "off": False, "false": False}


def add_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    g = p.add_argument_group("security and limits")
    g.add_argument("--auth", default=env("JQM_AUTH", "on"), help="on (default) or off [env JQM_AUTH]")
    g.add_argument("--users", default=env("JQM_USERS", ""), help="comma-separated users files [env JQM_USERS]")
    g.add_argument(
        "--cluster-secret-file",
        default=env("JQM_CLUSTER_SECRET_FILE"),
        help="key of node-to-node signatures [env JQM_CLUSTER_SECRET_FILE]",
    )
    g.add_argument(
        "--management-listen",
        default=env("JQM_MANAGEMENT_LISTEN", "127.0.0.1:1790"),
        help="HOST:PORT of status, drain, metrics (default 127.0.0.1:1790) [env JQM_MANAGEMENT_LISTEN]",
    )
    g.add_argument(
        "--management-token-file",
        default=env("JQM_MANAGEMENT_TOKEN_FILE"),
        help="bearer token of drain and undrain [env JQM_MANAGEMENT_TOKEN_FILE]",
    )
    g.add_argument("--tls-cert-file", default=env("JQM_TLS_CERT_FILE"), help="[env JQM_TLS_CERT_FILE]")
    g.add_argument("--tls-key-file", default=env("JQM_TLS_KEY_FILE"), help="[env JQM_TLS_KEY_FILE]")
    g.add_argument("--tls-ca-file", default=env("JQM_TLS_CA_FILE"), help="CA of the peers [env JQM_TLS_CA_FILE]")
    g.add_argument(
        "--header-timeout",
        default=env("JQM_HEADER_TIMEOUT", str(DEFAULT_HEADER_TIMEOUT)),
        help="seconds to send request headers; also the idle keep-alive limit [env JQM_HEADER_TIMEOUT]",
    )
    g.add_argument(
        "--body-timeout",
        default=env("JQM_BODY_TIMEOUT", str(DEFAULT_BODY_TIMEOUT)),
        help="seconds to send a request body [env JQM_BODY_TIMEOUT]",
    )
    g.add_argument(
        "--max-input-files",
        default=env("JQM_MAX_INPUT_FILES", str(DEFAULT_MAX_INPUT_FILES)),
        help="input files per job [env JQM_MAX_INPUT_FILES]",
    )
    g.add_argument(
        "--max-input-bytes",
        default=env("JQM_MAX_INPUT_BYTES", str(DEFAULT_MAX_INPUT_BYTES)),
        help="total bytes of a job's input files [env JQM_MAX_INPUT_BYTES]",
    )


def _positive(option: str, raw: str, *, integer: bool = False) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError("command line", option, f"expected a number, got {raw!r}") from None
    if not value > 0:
        raise ConfigError("command line", option, f"must be greater than 0, got {raw}")
    return value


def _listen(option: str, raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("command line", option, f"expected HOST:PORT, got {raw!r}")
    return host.strip("[]"), int(port)


def _existing(option: str, raw: str | None) -> Path | None:
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError("command line", option, f"no such file: {raw}")
    return path


def _secret(option: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as e:
        raise ConfigError("command line", option, f"cannot read {path}: {e.strerror}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError("command line", option, f"the cluster secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def _tls(args: argparse.Namespace) -> TlsFiles | None:
    cert = _existing("--tls-cert-file", args.tls_cert_file)
    key = _existing("--tls-key-file", args.tls_key_file)
    ca = _existing("--tls-ca-file", args.tls_ca_file)
    if cert is None and key is None:
        if ca is not None:
            raise ConfigError("command line", "--tls-ca-file", "needs --tls-cert-file and --tls-key-file")
        return None
    if cert is None or key is None:
        raise ConfigError("command line", "--tls-cert-file", "TLS needs both a certificate and a key file")
    files = TlsFiles(cert=cert, key=key, ca=ca)
    try:
        server_context(files)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError("command line", "--tls-cert-file", f"cannot load the certificate and key: {e}") from None
    return files


def security_settings(args: argparse.Namespace, *, has_peers: bool) -> SecuritySettings:
    """The settings of the parsed options; raises ConfigError naming the option at fault."""
    auth = _SWITCH.get(str(args.auth).strip().lower())
    if auth is None:
        raise ConfigError("command line", "--auth", f"expected on or off, got {args.auth!r}")
    users = tuple(Path(p.strip()) for p in args.users.split(",") if p.strip())
    if auth and not users:
        raise ConfigError(
            "command line",
            "--users",
            "authentication is on (the default) but no users file is given: "
            "give --users FILE (JQM_USERS), or --auth off to leave every call open",
        )
    secret = _secret("--cluster-secret-file", _existing("--cluster-secret-file", args.cluster_secret_file))
    if auth and has_peers and secret is None:
        raise ConfigError(
            "command line",
            "--cluster-secret-file",
            "with authentication on, nodes with peers must share a cluster secret (JQM_CLUSTER_SECRET_FILE) "
            "to sign the calls they forward",
        )
    host, port = _listen("--management-listen", args.management_listen)
    return SecuritySettings(
        auth_enabled=auth,
        users_files=users,
        cluster_secret=secret,
        management_host=host,
        management_port=port,
        management_token_file=_existing("--management-token-file", args.management_token_file),
        tls=_tls(args),
        header_timeout=_positive("--header-timeout", args.header_timeout),
        body_timeout=_positive("--body-timeout", args.body_timeout),
        max_input_files=int(_positive("--max-input-files", args.max_input_files, integer=True)),
        max_input_bytes=int(_positive("--max-input-bytes", args.max_input_bytes, integer=True)),
    )


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
