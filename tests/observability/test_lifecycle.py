"""The WebSocket connection registry and the graceful server, over real sockets.

A Starlette app defined here (not Ballsy's routes) registers its WebSockets the way
Ballsy's endpoints do; uvicorn serves it on loopback and a ``websockets`` client
connects, so the 1012 close frame is the one a real client would receive.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ballsy.observability.metrics import WS_CONNECTIONS
from ballsy.realtime.connections import SERVICE_RESTART, ConnectionRegistry
from ballsy.serving import GracefulServer
from tests.fake_openai import free_port

T = TypeVar("T")


@dataclass
class Harness:
    registry: ConnectionRegistry
    url: str
    events: list[tuple[str, object]] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    server: GracefulServer = field(init=False)
    thread: threading.Thread = field(init=False)

    def on_server(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run ``coroutine`` on the server's event loop (from another thread)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


def _app(harness: Harness) -> Starlette:
    async def voice(websocket: WebSocket) -> None:
        await websocket.accept()
        harness.loop = asyncio.get_running_loop()

        async def goodbye() -> None:
            await websocket.send_json({"type": "shutdown", "reconnect": True})
            harness.events.append(("hook", websocket.path_params["name"]))

        try:
            async with harness.registry.track(websocket, endpoint="test", on_shutdown=goodbye):
                await websocket.send_json({"type": "ready"})
                while True:
                    await websocket.receive_text()
        except WebSocketDisconnect as exc:
            harness.events.append(("left", exc.code))

    async def stubborn(websocket: WebSocket) -> None:
        # Never reads again, so never notices the close: the registry must cancel it.
        await websocket.accept()
        harness.loop = asyncio.get_running_loop()
        try:
            async with harness.registry.track(websocket, endpoint="test"):
                await websocket.send_json({"type": "ready"})
                await asyncio.sleep(3600)
        except asyncio.CancelledError:
            harness.events.append(("cancelled", "stubborn"))
            raise

    return Starlette(
        routes=[WebSocketRoute("/ws/{name}", voice), WebSocketRoute("/stubborn", stubborn)]
    )


@pytest.fixture
def harness() -> Iterator[Harness]:
    port = free_port()
    registry = ConnectionRegistry(hook_timeout=2.0, leave_timeout=1.0)
    harness = Harness(registry, f"ws://127.0.0.1:{port}")
    config = uvicorn.Config(
        _app(harness), host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=5
    )
    harness.server = GracefulServer(config, before_drain=registry.close_all)
    harness.thread = threading.Thread(target=harness.server.run, daemon=True)
    harness.thread.start()
    deadline = time.monotonic() + 10
    while not harness.server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.02)
    yield harness
    harness.server.should_exit = True
    harness.thread.join(timeout=10)


def _open(endpoint: str) -> float:
    return float(WS_CONNECTIONS.labels(endpoint)._value.get())


async def test_close_all_says_goodbye_then_closes_with_1012(harness: Harness) -> None:
    before = _open("test")
    async with (
        connect(f"{harness.url}/ws/alice") as alice,
        connect(f"{harness.url}/ws/bob") as bob,
    ):
        for client in (alice, bob):
            assert '"ready"' in await client.recv()
        assert len(harness.registry) == 2 and _open("test") == before + 2

        closed = await asyncio.to_thread(harness.on_server, harness.registry.close_all())
        assert closed == 2
        for client in (alice, bob):
            assert '"shutdown"' in await client.recv()
            with pytest.raises(ConnectionClosed) as info:
                await client.recv()
            assert info.value.rcvd is not None
            assert info.value.rcvd.code == SERVICE_RESTART
    assert sorted(harness.events) == [
        ("hook", "alice"),
        ("hook", "bob"),
        ("left", SERVICE_RESTART),
        ("left", SERVICE_RESTART),
    ]
    assert len(harness.registry) == 0 and _open("test") == before

    # Once closing, a newcomer is turned away with the same code.
    async with connect(f"{harness.url}/ws/carol") as carol:
        with pytest.raises(ConnectionClosed) as info:
            await carol.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == SERVICE_RESTART
    assert ("left", SERVICE_RESTART) in harness.events[4:]


async def test_a_handler_that_never_leaves_is_cancelled(harness: Harness) -> None:
    async with connect(f"{harness.url}/stubborn") as client:
        assert '"ready"' in await client.recv()
        started = time.monotonic()
        await asyncio.to_thread(harness.on_server, harness.registry.close_all())
        assert time.monotonic() - started < 3
        with pytest.raises(ConnectionClosed) as info:
            await client.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == SERVICE_RESTART
    assert harness.events == [("cancelled", "stubborn")]
    assert len(harness.registry) == 0


async def test_server_shutdown_closes_websockets_before_draining(harness: Harness) -> None:
    async with connect(f"{harness.url}/ws/dora") as client:
        assert '"ready"' in await client.recv()
        # What the SIGTERM handler does; the signal itself is tested with `ballsy serve`.
        harness.server.should_exit = True
        assert '"shutdown"' in await client.recv()
        with pytest.raises(ConnectionClosed) as info:
            await client.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == SERVICE_RESTART
    await asyncio.to_thread(harness.thread.join, 10)
    assert not harness.thread.is_alive()
    assert harness.events == [("hook", "dora"), ("left", SERVICE_RESTART)]
