"""What makes a node safe to expose: authentication, the management listener, TLS, request limits.

Built by the command line (``cli_security``); the defaults of this dataclass are the open, local
settings programmatic users (tests, benchmarks) start from. The command line's defaults are not:
there authentication is on unless ``--auth off`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0
DEFAULT_MAX_INPUT_FILES = 100
DEFAULT_MAX_INPUT_BYTES = 64 * 2**20


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The client listener's certificate and key; the CA (optional) that peers' certificates chain to."""

    cert: Path
    key: Path
    ca: Path | None = None


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    auth_enabled: bool = False
    users_files: tuple[Path, ...] = ()
    cluster_secret: bytes | None = None
    """Key of the node-to-node signatures (``JQM_CLUSTER_SECRET_FILE``); None: calls are not signed."""
    management_host: str = "127.0.0.1"
    management_port: int = 1790
    management_token_file: Path | None = None
    tls: TlsFiles | None = None
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds a connection may take to send a request's headers (idle keep-alive connections too)."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a request may take to send its body once its headers are in."""
    max_input_files: int = DEFAULT_MAX_INPUT_FILES
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
