"""A real HTTP/WebSocket server (uvicorn on loopback, in a thread) for client tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from ballsy.app import create_app
from ballsy.config import Settings
from tests.fake_openai import free_port


@contextmanager
def live_app(settings: Settings) -> Iterator[tuple[str, Any]]:
    """Serve ``create_app(settings)``; yields (base URL, the app) until the block ends."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_ping_interval=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "live server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
