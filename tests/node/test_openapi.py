"""The OpenAPI document describes exactly the routes the node serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jqm_node.api.openapi import DOCUMENT
from jqm_node.app import build_app
from jqm_node.config import NodeConfig, Settings
from jqm_node.model import Queue
from jqm_node.node import Node


def served_operations(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings(
        ip="127.0.0.1",
        name="n",
        host="127.0.0.1",
        port=1789,
        workdir=tmp_path,
        id_limit=10,
        shutdown_grace=1,
        kill_grace=1,
    )
    app = build_app(Node(settings, NodeConfig(queues=[Queue(id=1, name="DEFAULT", default=True)])))
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def documented_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    served, documented = served_operations(tmp_path), documented_operations()
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented routes the node does not serve"


def test_document_is_consistent() -> None:
    assert DOCUMENT["openapi"].startswith("3.")
    text = json.dumps(DOCUMENT)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in DOCUMENT["components"]["schemas"], ref
    operation_ids = [op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in DOCUMENT["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


@pytest.mark.integration
def test_served_document(start_node) -> None:  # type: ignore[no-untyped-def]
    node = start_node()
    status, headers, body = node.request("GET", "/ws/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == DOCUMENT
