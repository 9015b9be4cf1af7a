"""The sync and async clients offer the same operations with the same parameters."""

from __future__ import annotations

import inspect

from jqm_client import JqmClient
from jqm_client.aio import AsyncJqmClient


def public_methods(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_same_methods_and_parameters() -> None:
    assert public_methods(JqmClient) == public_methods(AsyncJqmClient)


def test_async_methods_are_awaitable_except_follow_logs() -> None:
    for name, member in inspect.getmembers(AsyncJqmClient, inspect.isfunction):
        if not name.startswith("_"):
            assert inspect.iscoroutinefunction(member) == (name != "follow_logs"), name
