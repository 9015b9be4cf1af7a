"""The headers that make a node-to-node request (handover) recognisable by the member receiving it.

One function on purpose: node-to-node signatures (contract: ``X-Jqm-Peer-Signature``) are made by the
peer authentication module, and wiring it in is a change of this function's body only.
"""

from __future__ import annotations

from jqm_node.cluster.forwarding import FORWARDED_BY

USER_HEADER = "X-Jqm-User"


def sign_headers(*, method: str, path_qs: str, sender_ip: str, user: str = "") -> dict[str, str]:
    """Headers for a request ``method path_qs`` sent by this node (``sender_ip``) on behalf of ``user``
    (empty for the node's own calls). ``method`` and ``path_qs`` are what a signature covers."""
    return {FORWARDED_BY: sender_ip, USER_HEADER: user}
