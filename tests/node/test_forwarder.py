"""The forwarder's errors name what failed: the connection (connect timeout) or the answer (JQM_FORWARD_TIMEOUT)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from jqm_node.cluster.forwarding import Forwarder, OwnerTimeoutError, OwnerUnreachableError


class FailingSession:
    """Stands for the peer session: every request fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def request(self, *_: Any, **__: Any) -> Any:
        error = self.error

        class Call:
            async def __aenter__(self) -> None:
                raise error

            async def __aexit__(self, *_: object) -> None:
                return None

        return Call()


@pytest.mark.parametrize(
    ("error", "kind", "status", "message"),
    [
        (aiohttp.ConnectionTimeoutError(), OwnerTimeoutError, 504,
         "the node answering for this job (127.0.0.8) did not accept a connection within 1s (connect timeout)"),
        (aiohttp.SocketTimeoutError(), OwnerTimeoutError, 504,
         "the node answering for this job (127.0.0.8) did not answer within 7s (JQM_FORWARD_TIMEOUT)"),
        (aiohttp.ClientConnectionError("Connection refused"), OwnerUnreachableError, 502,
         "the node answering for this job (127.0.0.8) cannot be reached: Connection refused"),
    ],
)  # fmt: skip
async def test_each_failure_names_its_cause(error: Exception, kind: type, status: int, message: str) -> None:
    forwarder = Forwarder(self_ip="127.0.0.2", port=1789, timeout=7, connect_timeout=1)
    forwarder._session = FailingSession(error)  # type: ignore[assignment]
    with pytest.raises(kind) as caught:
        await forwarder.forward(make_mocked_request("GET", "/ws/client/ji/1"), "127.0.0.8")
    assert (caught.value.status, caught.value.message, caught.value.replayable) == (status, message, True)
