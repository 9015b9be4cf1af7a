"""The ID ledger: for each IPv4 address, which job IDs were already reserved, and who holds the
history of the ones whose node left. Nodes reserve IDs here before handing them out, so that no ID
is ever handed out twice, whatever restarts, crashes or address reuse happen.

``JQM_ID_LEDGER``: ``file:PATH`` (:mod:`.file`), ``configmap:NAMESPACE/NAME`` (:mod:`.configmap`) or
``off`` (no ledger: IDs count from the address's base at every start, as upstream).
"""

from __future__ import annotations

import re
from pathlib import Path

from jqm_node.ledger.base import IdLedger
from jqm_node.ledger.configmap import ConfigMapLedger
from jqm_node.ledger.document import LedgerDocument, LedgerError, holder_of, record_custody, reserve
from jqm_node.ledger.file import FileLedger

__all__ = [
    "ConfigMapLedger",
    "FileLedger",
    "IdLedger",
    "LedgerDocument",
    "LedgerError",
    "holder_of",
    "open_ledger",
    "parse_ledger_spec",
    "record_custody",
    "reserve",
]

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_CONFIGMAP = re.compile(rf"configmap:(?P<namespace>{_DNS_LABEL})/(?P<name>{_DNS_LABEL}(\.{_DNS_LABEL})*)")


def parse_ledger_spec(spec: str, *, workdir: Path) -> str | None:
    """Checks a ``JQM_ID_LEDGER`` value and returns it normalised (None for ``off``); ValueError says why."""
    spec = spec.strip()
    if spec == "":
        return f"file:{workdir.resolve() / 'id-ledger.json'}"
    if spec == "off":
        return None
    if spec.startswith("file:"):
        if not spec[5:]:
            raise ValueError("file: needs a path, e.g. file:/var/lib/jqm/id-ledger.json")
        return f"file:{Path(spec[5:]).resolve()}"
    if _CONFIGMAP.fullmatch(spec):
        return spec
    raise ValueError(f"expected file:PATH, configmap:NAMESPACE/NAME or off, got {spec!r}")


def open_ledger(spec: str) -> IdLedger:
    """The backend of a normalised spec (see :func:`parse_ledger_spec`); LedgerError if it cannot work here."""
    if spec.startswith("file:"):
        return FileLedger(Path(spec[5:]))
    match = _CONFIGMAP.fullmatch(spec)
    if match is None:
        raise LedgerError(f"unknown ID ledger {spec!r}")
    return ConfigMapLedger.in_pod(match["namespace"], match["name"])
