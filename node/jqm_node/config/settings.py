"""A node's options as given (:class:`Options`, filled by the command line over the environment) and
their check: :func:`load` turns them, with the configuration files they name, into the
:class:`Settings` and :class:`~jqm_node.config.files.NodeConfig` a node runs with, or raises one
:class:`~jqm_node.config.files.ConfigError` naming the option at fault.

The defaults are the :class:`Options` field defaults, written once; docs/NODE.md lists them.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from jqm_node.commands import unsafe_ending
from jqm_node.config.files import ConfigError, NodeConfig, load_job_definition_files, load_node_config
from jqm_node.ids import BLOCK_SIZE
from jqm_node.ledger import parse_ledger_spec
from jqm_node.netinfo import detect_ipv4, validate_ipv4
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
_SOURCE = "command line"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass
class Options:
    """The options of ``jqm-node`` as text, as given; each field is ``--NAME-WITH-DASHES`` on the command
    line and a ``JQM_*`` variable in the environment (see the parser in :mod:`jqm_node.cli`)."""

    config: str | None = None
    listen: str = "0.0.0.0:1789"
    ip: str | None = None
    jobdefs: str | None = None
    workdir: str = "jqm-work"
    name: str | None = None
    shutdown_grace: str | None = None
    """None: the configuration file's ``shutdownGraceSeconds``, else 30."""
    shutdown_linger: str = "0"
    kill_grace: str = "10"
    id_limit: str = str(BLOCK_SIZE)
    log_level: str = "INFO"
    peers: str = ""
    peers_dns: str | None = None
    peer_port: str = "1789"
    drain_accept_seconds: str = "0"
    forward_timeout: str = "10"
    forward_connect_timeout: str = "1"
    id_ledger: str = ""
    """Empty: ``file:WORKDIR/id-ledger.json``."""
    journal: str = "on"
    history_max_jobs: str = "100000"
    history_max_age_seconds: str = "604800"
    handover_log_bytes: str = "16384"
    handover_timeout: str = "60"
    auth: str = "on"
    users: str = ""
    cluster_secret_file: str | None = None
    management_listen: str = "127.0.0.1:1790"
    management_token_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_ca_file: str | None = None
    header_timeout: str = str(DEFAULT_HEADER_TIMEOUT)
    body_timeout: str = str(DEFAULT_BODY_TIMEOUT)
    max_input_files: str = str(DEFAULT_MAX_INPUT_FILES)
    max_input_bytes: str = str(DEFAULT_MAX_INPUT_BYTES)


DEFAULT_SHUTDOWN_GRACE = 30.0


@dataclass(slots=True)
class Settings:
    """What a node runs with, checked."""

    ip: str
    name: str
    host: str
    port: int
    workdir: Path
    id_limit: int
    shutdown_grace: float
    kill_grace: float
    shutdown_linger: float = 0.0
    peers: tuple[str, ...] = ()
    peers_dns: str | None = None
    peer_port: int = 1789
    forward_timeout: float = 10.0
    forward_connect_timeout: float = 1.0
    drain_accept_seconds: float = 0.0
    id_ledger: str | None = None
    """Normalised ``JQM_ID_LEDGER`` (``file:PATH`` or ``configmap:NS/NAME``); None: no ledger."""
    journal: bool = True
    history_max_jobs: int = 100_000
    history_max_age: float = 7 * 86_400.0
    handover_log_bytes: int = 16 * 1024
    handover_timeout: float = 60.0
    log_level: str = "INFO"
    """The node's own log level, also given to jobs as ``JQM_NODE_LOG_LEVEL``."""
    security: SecuritySettings = field(default_factory=SecuritySettings)

    @property
    def api_local_url(self) -> str:
        """Where a job reaches this node's API: localhost unless the node listens on one address only."""
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{'https' if self.security.tls else 'http'}://{host}:{self.port}"


# ---------------------------------------------------------------------------------------- checks of one value


def _number(option: str, raw: str) -> float:
    """A number of seconds (or other amount) >= 0."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(_SOURCE, option, f"expected a number, got {raw!r}") from None
    if not value >= 0:
        raise ConfigError(_SOURCE, option, f"must not be negative, got {raw}")
    return value


def _count(option: str, raw: str, *, low: int = 0, high: int | None = None) -> int:
    """A whole number between ``low`` and ``high``."""
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(_SOURCE, option, f"expected a whole number, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(_SOURCE, option, f"must be {bounds}, got {raw}")
    return value


def _positive(option: str, raw: str) -> float:
    value = _number(option, raw)
    if value == 0:
        raise ConfigError(_SOURCE, option, f"must be greater than 0, got {raw}")
    return value


def _switch(option: str, raw: str) -> bool:
    value = _SWITCH.get(raw.strip().lower())
    if value is None:
        raise ConfigError(_SOURCE, option, f"expected on or off, got {raw!r}")
    return value


def _listen(option: str, raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(_SOURCE, option, f"expected HOST:PORT, got {raw!r}")
    return host.strip("[]"), int(port)


def _existing(option: str, raw: str | None) -> Path | None:
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(_SOURCE, option, f"no such file: {raw}")
    return path  # not resolved: a mounted Secret is updated by a symlink swap, which the node must follow


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(_SOURCE, "--log-level", f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


# ---------------------------------------------------------------------------------------- security


def _secret(option: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as e:
        raise ConfigError(_SOURCE, option, f"cannot read {path}: {e.strerror}") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(_SOURCE, option, f"the cluster secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def _tls(options: Options) -> TlsFiles | None:
    cert = _existing("--tls-cert-file", options.tls_cert_file)
    key = _existing("--tls-key-file", options.tls_key_file)
    ca = _existing("--tls-ca-file", options.tls_ca_file)
    if cert is None and key is None:
        if ca is not None:
            raise ConfigError(_SOURCE, "--tls-ca-file", "needs --tls-cert-file and --tls-key-file")
        return None
    if cert is None or key is None:
        raise ConfigError(_SOURCE, "--tls-cert-file", "TLS needs both a certificate and a key file")
    files = TlsFiles(cert=cert, key=key, ca=ca)
    try:
        server_context(files)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(_SOURCE, "--tls-cert-file", f"cannot load the certificate and key: {e}") from None
    return files


def security_settings(options: Options, *, has_peers: bool) -> SecuritySettings:
    auth = _switch("--auth", options.auth)
    users = tuple(Path(p.strip()) for p in options.users.split(",") if p.strip())  # not resolved: see _existing
    if auth and not users:
        raise ConfigError(
            _SOURCE,
            "--users",
            "authentication is on (the default) but no users file is given: "
            "give --users FILE (JQM_USERS), or --auth off to leave every call open",
        )
    secret = _secret("--cluster-secret-file", _existing("--cluster-secret-file", options.cluster_secret_file))
    if auth and has_peers and secret is None:
        raise ConfigError(
            _SOURCE,
            "--cluster-secret-file",
            "with authentication on, nodes with peers must share a cluster secret (JQM_CLUSTER_SECRET_FILE) "
            "to sign the calls they forward",
        )
    host, port = _listen("--management-listen", options.management_listen)
    return SecuritySettings(
        auth_enabled=auth,
        users_files=users,
        cluster_secret=secret,
        management_host=host,
        management_port=port,
        management_token_file=_existing("--management-token-file", options.management_token_file),
        tls=_tls(options),
        header_timeout=_positive("--header-timeout", options.header_timeout),
        body_timeout=_positive("--body-timeout", options.body_timeout),
        max_input_files=_count("--max-input-files", options.max_input_files, low=1),
        max_input_bytes=_count("--max-input-bytes", options.max_input_bytes, low=1),
    )


# ---------------------------------------------------------------------------------------- the whole


def check_job_definitions(config: NodeConfig) -> None:
    """Names unique, queues that exist, commands whose parameters cannot become commands."""
    names = [jd.name for jd in config.job_definitions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError("job definitions", "name", f"defined more than once: {', '.join(duplicates)}")
    queue_names = {q.name for q in config.queues}
    for jd in config.job_definitions:
        if jd.queue_name and jd.queue_name not in queue_names:
            raise ConfigError("job definitions", f"{jd.name}.queue", f"no queue named {jd.queue_name}")
        unsafe = unsafe_ending(jd)
        if unsafe:
            raise ConfigError("job definitions", f"{jd.name}.path", unsafe)


def _node_config(options: Options) -> NodeConfig:
    config = load_node_config(Path(options.config) if options.config else None)
    if options.jobdefs:
        config.job_definitions += load_job_definition_files(Path(options.jobdefs))
    check_job_definitions(config)
    return config


def _ip(raw: str | None) -> str:
    try:
        return validate_ipv4(raw) if raw else detect_ipv4()
    except ValueError as e:
        raise ConfigError(_SOURCE, "--ip", str(e)) from None


def _peers(raw: str) -> tuple[str, ...]:
    try:
        return tuple(validate_ipv4(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError as e:
        raise ConfigError(_SOURCE, "--peers", str(e)) from None


def _id_ledger(raw: str, workdir: Path) -> str | None:
    try:
        return parse_ledger_spec(raw, workdir=workdir)
    except ValueError as e:
        raise ConfigError(_SOURCE, "--id-ledger", str(e)) from None


def _shutdown_grace(raw: str | None, config: NodeConfig) -> float:
    """The option, else the configuration file's ``shutdownGraceSeconds``, else 30."""
    if raw is not None:
        return _number("--shutdown-grace", raw)
    return config.shutdown_grace_seconds if config.shutdown_grace_seconds is not None else DEFAULT_SHUTDOWN_GRACE


def load(options: Options) -> tuple[Settings, NodeConfig]:
    """The settings and configuration ``options`` describe; raises ConfigError naming what is wrong."""
    config = _node_config(options)
    host, port = _listen("--listen", options.listen)
    peers = _peers(options.peers)
    workdir = Path(options.workdir)
    settings = Settings(
        ip=_ip(options.ip),
        name=options.name or config.name or socket.gethostname(),
        host=host,
        port=port,
        workdir=workdir,
        id_limit=_count("--id-limit", options.id_limit, low=1, high=BLOCK_SIZE),
        shutdown_grace=_shutdown_grace(options.shutdown_grace, config),
        kill_grace=_number("--kill-grace", options.kill_grace),
        shutdown_linger=_number("--shutdown-linger", options.shutdown_linger),
        peers=peers,
        peers_dns=options.peers_dns or None,
        peer_port=_count("--peer-port", options.peer_port, low=1, high=65535),
        forward_timeout=_number("--forward-timeout", options.forward_timeout),
        forward_connect_timeout=_number("--forward-connect-timeout", options.forward_connect_timeout),
        drain_accept_seconds=_number("--drain-accept-seconds", options.drain_accept_seconds),
        security=security_settings(options, has_peers=bool(peers or options.peers_dns)),
        id_ledger=_id_ledger(options.id_ledger, workdir),
        journal=_switch("--journal", options.journal),
        history_max_jobs=_count("--history-max-jobs", options.history_max_jobs),
        history_max_age=_number("--history-max-age-seconds", options.history_max_age_seconds),
        handover_log_bytes=_count("--handover-log-bytes", options.handover_log_bytes),
        handover_timeout=_number("--handover-timeout", options.handover_timeout),
        log_level=_log_level(options.log_level),
    )
    return settings, config
