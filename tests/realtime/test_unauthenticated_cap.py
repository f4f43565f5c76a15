"""Sockets waiting for their first (auth) message are capped per address and in all."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import pytest
import websockets

from ballsy.security.websocket import WAITING
from tests.conftest import make_settings
from tests.live import live_app


@pytest.fixture(scope="module")
def ws_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("unauth"),
        auth_mode="apikey",
        ws_unauthenticated_per_address=2,
        ws_unauthenticated_max=3,
    )
    with live_app(settings) as (url, _app):
        yield url.replace("http", "ws", 1)


async def _refused_at_once(ws: websockets.ClientConnection) -> None:
    async with asyncio.timeout(2):  # well before the 5 s auth wait
        error = json.loads(await ws.recv())
        assert error["code"] == "too_many_connections"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1013


async def _close_code(ws: websockets.ClientConnection) -> int | None:
    """Read (and drop) messages until the server closes; its close code."""
    async with asyncio.timeout(5):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


async def _waiting(ws: websockets.ClientConnection) -> None:
    """The server holds ``ws`` open, waiting for its auth message."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await ws.recv()


@pytest.mark.parametrize("path", ["/ws/voice/dev", "/v1/realtime"])
async def test_waiting_sockets_are_capped_per_address_and_in_all(ws_base: str, path: str) -> None:
    url = ws_base + path
    first = await websockets.connect(url)
    second = await websockets.connect(url)
    await _waiting(first)
    await _waiting(second)
    # A third from the same address is refused with 1013 at once.
    async with websockets.connect(url) as third:
        await _refused_at_once(third)
    # Another address still gets in, up to the total of 3; then not even a new address.
    other = await websockets.connect(url, local_addr=("127.0.0.2", 0))
    await _waiting(other)
    async with websockets.connect(url, local_addr=("127.0.0.3", 0)) as fourth:
        await _refused_at_once(fourth)
    # A bad auth message ends the wait (1008) and gives the place back.
    await first.send(json.dumps({"type": "auth", "token": "bsk_nope"}))
    assert await _close_code(first) == 1008
    again = await websockets.connect(url)
    await _waiting(again)
    for ws in (second, other, again):
        await ws.close()
    for _ in range(50):  # the server notices the closes
        if WAITING.total == 0:
            break
        await asyncio.sleep(0.05)
    assert WAITING.total == 0 and WAITING.by_address == {}
