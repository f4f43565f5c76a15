"""A real Ballsy server in a thread, with a handle on its event loop.

Like ``tests.live.live_app``, plus :meth:`BallsyThread.call`: the browser tests
reach into the running server — create users, close every WebSocket with 1012 as a
restart would — on the loop that owns those objects.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvicorn

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.services import Services
from tests.fake_openai import free_port

T = TypeVar("T")


class BallsyThread:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                ws_ping_interval=None,
                ws_max_size=1024 * 1024,
            )
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="ballsy-e2e")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self.server.serve())
        finally:
            loop.close()

    def start(self) -> BallsyThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "the Ballsy server thread died"
            assert time.monotonic() < deadline, "the Ballsy server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def call(self, make: Callable[[Services], Awaitable[T]], timeout: float = 30) -> T:
        """Run ``make(services)`` on the server's loop and return its result."""
        assert self.loop is not None

        async def run() -> T:
            return await make(self.services)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)
