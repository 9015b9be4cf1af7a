"""Operator-process settings from the environment."""

from __future__ import annotations

from jqm_operator.config import PRIORITY_RANGE, OperatorConfig


def test_defaults_are_clusterwide_unpeered_with_both_watch_timeouts() -> None:
    config = OperatorConfig.from_env({})
    assert config.clusterwide and config.peering == ""
    assert config.watch_client_timeout > config.watch_server_timeout > 0
    assert 1 <= config.priority <= PRIORITY_RANGE


def test_environment_is_read() -> None:
    config = OperatorConfig.from_env(
        {
            "JQM_OPERATOR_NAMESPACES": "a, b",
            "JQM_OPERATOR_PEERING": "jqm-operator",
            "JQM_OPERATOR_PRIORITY": "7",
            "JQM_OPERATOR_NODE_ACCESS": "proxy",
            "JQM_OPERATOR_IDLIMIT_SECONDS": "2",
            "JQM_OPERATOR_WATCH_TIMEOUT_SECONDS": "60",
        }
    )
    assert config.namespaces == ("a", "b") and not config.clusterwide
    assert (config.peering, config.priority, config.node_access) == ("jqm-operator", 7, "proxy")
    assert config.idlimit_seconds == 2.0
    assert (config.watch_server_timeout, config.watch_client_timeout) == (60, 90)
