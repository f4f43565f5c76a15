"""Running a Ballsy process, and the order in which it stops.

``ballsy serve`` (and ``ballsy wyoming``) call :func:`run_server`, which serves the app
on :class:`GracefulServer`. On the first SIGTERM or SIGINT it

1. stops accepting connections;
2. runs ``before_drain``: the app's :func:`ballsy.app.close_websockets`, which tells every
   registered WebSocket client and closes it with 1012 (*service restart*) so it
   reconnects to another instance — each endpoint's ``on_shutdown`` hook first persists
   what is finished and says goodbye (:mod:`ballsy.realtime.connections`);
3. lets in-flight HTTP requests finish, for at most ``shutdown_grace_seconds``, then
   cancels what is left;
4. runs the app's lifespan shutdown (``Services.close``: providers, database pools);
5. exits with status 0.

Process managers that start several workers themselves serve :func:`create_worker_app`
on uvicorn's own server instead: its stop, then the same lifespan shutdown (step 4).
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn

from ballsy.config import Settings
from ballsy.observability.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

log = get_logger("ballsy.serving")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulServer(uvicorn.Server):
    """uvicorn's server with Ballsy's shutdown steps (module docstring) around its own."""

    def __init__(
        self, config: uvicorn.Config, before_drain: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        super().__init__(config)
        self.before_drain = before_drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        started = time.perf_counter()
        log.info(
            "ballsy.lifecycle.shutdown_started",
            grace_seconds=self.config.timeout_graceful_shutdown,
            in_flight=len(self.server_state.tasks),
        )
        # Stop accepting first, so no new connection arrives while others are closed.
        for server in self.servers:
            server.close()
        if self.before_drain is not None:
            try:
                await self.before_drain()
            except Exception:
                log.exception("ballsy.lifecycle.before_drain_failed")
        await super().shutdown(sockets)
        log.info(
            "ballsy.lifecycle.shutdown_completed",
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the captured signal after its graceful stop, so the process
        # would die of SIGTERM (status 143) after having drained cleanly; a drained
        # server exits 0 instead.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_server(
    app: FastAPI,
    settings: Settings,
    *,
    before_drain: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Serve ``app`` until a signal, then stop gracefully; raise SystemExit if it fails.

    ``before_drain`` is step 2 of the stop (module docstring): what closes the app's
    WebSockets once no new connection can arrive.
    """
    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.port,
        # Logging is configured by Ballsy (configure_logging); uvicorn's own dictConfig
        # would give its loggers separate handlers and a second format.
        log_config=None,
        access_log=False,
        ws_max_size=1024 * 1024,
        # X-Forwarded-For is honoured by the app, from TRUSTED_PROXIES only (ballsy.app).
        proxy_headers=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )
    server = GracefulServer(config, before_drain=before_drain)
    server.run()
    if not server.started:
        raise SystemExit(3)


def create_worker_app() -> FastAPI:
    """An app factory for process managers that start several workers themselves::

        PROMETHEUS_MULTIPROC_DIR=/tmp/ballsy-metrics \\
            uvicorn ballsy.serving:create_worker_app --factory --workers 4 --no-access-log \\
                --no-proxy-headers
    """
    from ballsy.app import create_app

    settings = Settings()
    configure_logging(settings)
    return create_app(settings)
