"""TCP relaying: accept on one address, pipe each connection to a backend chosen per connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Backend = tuple[str, int]
CONNECT_TIMEOUT = 5.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ConnectionError):
        await writer.wait_closed()


def handler(
    pick: Callable[[], Backend | None], attempts: int = 1
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]:
    """A connection handler relaying to pick(); a backend that refuses the connection is skipped for the
    next one (up to `attempts` backends); the client is closed when none answers."""

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        upstream = None
        for _ in range(attempts):
            backend = pick()
            if backend is None:
                break
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(*backend), CONNECT_TIMEOUT)
                break
            except (OSError, TimeoutError) as exc:
                log.warning("relay to %s:%d failed: %s", *backend, exc)
        if upstream is None:
            await _close(client_w)
            return
        up_r, up_w = upstream
        try:
            await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))
        finally:
            await _close(up_w)
            await _close(client_w)

    return handle


async def serve(host: str, port: int, pick: Callable[[], Backend | None], attempts: int = 1) -> asyncio.Server:
    return await asyncio.start_server(handler(pick, attempts), host, port, reuse_address=True)
