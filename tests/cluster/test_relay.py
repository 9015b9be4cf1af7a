"""The TCP relay on loopback: bytes both ways, and a refusing backend skipped for the next one."""

import asyncio
import socket

import pytest

from jqm_localcluster import relay

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_relays_both_ways_and_skips_a_refusing_backend() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read(100))
        await writer.drain()
        writer.close()

    backend = await asyncio.start_server(echo, "127.0.0.1", 0)
    good = ("127.0.0.1", backend.sockets[0].getsockname()[1])
    refusing = ("127.0.0.1", free_port())
    backends = iter([refusing, good])
    front = await relay.serve("127.0.0.1", 0, lambda: next(backends), attempts=2)
    reader, writer = await asyncio.open_connection("127.0.0.1", front.sockets[0].getsockname()[1])
    writer.write(b"hi")
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 5) == b"echo:hi"
    writer.close()
    front.close()
    backend.close()


async def test_no_backend_closes_the_client() -> None:
    front = await relay.serve("127.0.0.1", 0, lambda: None)
    reader, writer = await asyncio.open_connection("127.0.0.1", front.sockets[0].getsockname()[1])
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    front.close()
