"""Reads the CRD and applies its schema defaults the way the API server does, for the tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "jqmcluster.yaml"


def load_crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


def schema() -> dict[str, Any]:
    return load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def apply_defaults(value: Any, node: dict[str, Any]) -> Any:
    """Structural defaulting: missing properties with a default get it, recursively, lists item-wise."""
    value = copy.deepcopy(value)
    if isinstance(value, dict):
        for name, prop in (node.get("properties") or {}).items():
            if name not in value and "default" in prop:
                value[name] = copy.deepcopy(prop["default"])
            if name in value:
                value[name] = apply_defaults(value[name], prop)
    elif isinstance(value, list) and "items" in node:
        value = [apply_defaults(item, node["items"]) for item in value]
    return value


def defaulted_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return apply_defaults(spec, schema()["properties"]["spec"])
