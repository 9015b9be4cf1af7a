"""Exit codes of ``kubectl jqm`` and the one exception its commands raise to end with a message."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    JOB_FAILED = 1
    """The job ended CRASHED (killed jobs end CRASHED) or CANCELLED (commands that wait)."""
    USAGE = 2
    TIMEOUT = 3
    """--timeout passed before the job ended; the job goes on."""
    ACCESS = 4
    """Kubernetes RBAC or JQM credentials refused (401/403), or no credentials."""
    NOT_FOUND = 5
    """No such JqmCluster, application, job ID (or its node has left the cluster)."""
    UNREACHABLE = 6
    """No kubeconfig, the API server or the nodes cannot be reached, no node is ready."""
    REFUSED = 7
    """JQM refused the request (400) or failed (5xx); its message says why."""
    INTERRUPTED = 130


class PluginError(Exception):
    """Ends the command: ``message`` on stderr (never a stack trace), ``code`` as exit status."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
