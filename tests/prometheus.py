"""Reading the Prometheus text exposition the node and the operator serve, as a scraper would."""

from __future__ import annotations

import re

SAMPLE = re.compile(r'^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$')

HISTOGRAM_SUFFIXES = {"bucket": "_bucket", "sum": "_sum", "count": "_count"}
"""A histogram's samples are named after its family with one of these suffixes."""


def samples(text: str) -> dict[str, float]:
    """Samples of a Prometheus text exposition, checking its syntax: HELP and TYPE before each family."""
    assert text.endswith("\n")
    found: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, line
        name = match.group(1)
        family = name.removesuffix(HISTOGRAM_SUFFIXES.get(name.rsplit("_", 1)[-1], ""))
        assert name in typed or family in typed, line
        found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found
