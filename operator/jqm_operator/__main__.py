"""``python -m jqm_operator``: runs the operator with the settings of :mod:`jqm_operator.config`.

Equivalent to ``kopf run -m jqm_operator.handlers`` with the right flags, but the flags come from the
environment the chart sets, so the container has no shell-built command line.
"""

from __future__ import annotations

import kopf

import jqm_operator.handlers  # noqa: F401  (registers the handlers)
from jqm_operator.handlers.lifecycle import CONFIG


def main() -> None:
    kopf.configure(verbose=False)
    kopf.run(
        clusterwide=CONFIG.clusterwide,
        namespaces=CONFIG.namespaces,
        standalone=not CONFIG.peering,  # kopf's flag: no peering (not JQM's DB-less mode)
        peering_name=CONFIG.peering or None,
        priority=CONFIG.priority,
        liveness_endpoint=CONFIG.liveness or None,
    )


if __name__ == "__main__":
    main()
