"""A HEAD request forwarded to the job's owner answers the owner's headers, Content-Length included
(the web console asks a log's size with HEAD before reading its new bytes)."""

from __future__ import annotations

import pytest

from tests.node.conftest import StartNode, loopback_addresses, shell_job

pytestmark = pytest.mark.integration


def test_head_through_another_member_has_the_owners_length(start_node: StartNode) -> None:
    ips = loopback_addresses(2)
    env = {"JQM_PEERS": ",".join(ips)}
    config = {"jobDefinitions": [shell_job("Talk", "printf 'twelve bytes'")]}
    owner, entry = (start_node(ip=ip, port=1789, env=env, config=config) for ip in ips)
    job_id = owner.enqueue("Talk")
    owner.wait_state(job_id, "ENDED")
    path = f"/ws/client/ji/{job_id}/stdout"
    direct = owner.request("HEAD", path)
    forwarded = entry.request("HEAD", path)
    assert direct[0] == forwarded[0] == 200
    assert direct[1]["Content-Length"] == forwarded[1]["Content-Length"] == "12"
    assert forwarded[2] == b""
    assert entry.request("GET", path)[2] == b"twelve bytes"
