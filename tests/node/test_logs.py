"""The node's own logging helpers."""

from __future__ import annotations

import logging

import pytest

from jqm_node.logs import ThrottledWarning


def test_warnings_are_throttled_with_a_count(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("jqm_node.logs.time.monotonic", lambda: clock[0])
    warning = ThrottledWarning(logging.getLogger("test"), "refused a call", interval=10)
    with caplog.at_level("WARNING"):
        for i in range(100):
            warning.note(f"#{i}")
        clock[0] += 11
        warning.note("#100")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a call #0 (0 more since the last such warning)",
        "refused a call #100 (99 more since the last such warning)",
    ]
