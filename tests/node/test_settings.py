"""Options: the command line over the environment over the defaults (parsing, in cli.py); their check into
Settings (config/settings.py), one ConfigError naming the option at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from jqm_node.cli import parse_options
from jqm_node.config import ConfigError, Options, load


def test_the_command_line_wins_over_the_environment_which_wins_over_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JQM_LOG_LEVEL", "warning")
    monkeypatch.setenv("JQM_KILL_GRACE", "3")
    options = parse_options(["--kill-grace", "4", "--peers", "127.0.0.9"])
    assert (options.log_level, options.kill_grace, options.peers) == ("warning", "4", "127.0.0.9")
    assert options.listen == Options().listen == "0.0.0.0:1789"


def test_defaults_make_valid_settings(tmp_path: Path) -> None:
    settings, config = load(Options(auth="off", ip="127.0.0.1", workdir=str(tmp_path)))
    assert (settings.host, settings.port, settings.log_level, settings.shutdown_grace) == ("0.0.0.0", 1789, "INFO", 30)
    assert settings.id_ledger == f"file:{tmp_path.resolve() / 'id-ledger.json'}"
    assert [q.name for q in config.queues] == ["DEFAULT"]


def test_the_log_level_is_checked_and_normalised(tmp_path: Path) -> None:
    assert load(Options(auth="off", ip="127.0.0.1", log_level="debug"))[0].log_level == "DEBUG"
    with pytest.raises(ConfigError, match="--log-level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        load(Options(auth="off", ip="127.0.0.1", log_level="chatty"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(listen="nowhere"), "--listen: expected HOST:PORT"),
        (Options(ip="300.1.1.1"), "--ip"),
        (Options(id_limit="0"), "--id-limit: must be between 1 and 1000000"),
        (Options(kill_grace="-1"), "--kill-grace: must not be negative"),
        (Options(journal="maybe"), "--journal: expected on or off"),
        (Options(id_ledger="s3:bucket"), "--id-ledger: expected file:PATH"),
        (Options(peers="10.0.0.1,nope"), "--peers"),
        (Options(header_timeout="0"), "--header-timeout: must be greater than 0"),
        (Options(auth="on"), "--users: authentication is on"),
        (Options(tls_ca_file=__file__), "--tls-ca-file: needs --tls-cert-file"),
    ],
)
def test_a_bad_option_is_named(options: Options, message: str) -> None:
    if options.auth == "on" and "users" not in message:
        options.auth = "off"
    options.ip = options.ip or "127.0.0.1"
    with pytest.raises(ConfigError, match=message):
        load(options)
