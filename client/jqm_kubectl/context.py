"""What every command gets: where to print, and how to open a JqmCluster or list them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from jqm_kubectl.access import ClusterAccess


@dataclass(frozen=True, kw_only=True)
class Context:
    out: TextIO
    err: TextIO
    out_bytes: BinaryIO
    """Where job stdout goes, byte for byte."""
    err_bytes: BinaryIO
    """Where job stderr goes, byte for byte."""
    open_cluster: Callable[[str], ClusterAccess]
    list_clusters: Callable[[], list[dict[str, Any]]]
    namespace: str

    def note(self, message: str) -> None:
        """A line for the user on stderr (stdout stays for data)."""
        self.err.write(message + "\n")
        self.err.flush()
