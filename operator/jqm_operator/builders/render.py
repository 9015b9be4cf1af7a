"""Renders the packaged jinja2 templates into manifests.

Templates produce YAML text; every value coming from a user goes through the ``json`` filter, and JSON is
valid YAML, so quotes, colons or newlines in a spec can never change the structure of a manifest.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2
import yaml


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jqm_operator", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML, not HTML; values are escaped by the json filter instead.
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json"] = _json
    return env


def render(template: str, /, **values: Any) -> dict[str, Any]:
    """Renders ``templates/<template>`` with ``values`` and parses the result as one YAML document."""
    text = _environment().get_template(template).render(**values)
    manifest = yaml.safe_load(text)
    if not isinstance(manifest, dict):
        raise ValueError(f"template {template} rendered no mapping")
    return manifest
