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

With ``INTERNAL_PORT`` set, a second server in the same event loop serves the
operator's endpoints (:mod:`ballsy.api.internal`) on ``INTERNAL_HOST``: it starts once
the app's lifespan has, keeps answering ``/metrics`` and ``/ready`` through the drain,
and stops after step 4; it handles no signals of its own.

Process managers that start several workers themselves serve :func:`create_worker_app`
on uvicorn's own server instead: its stop, then the same lifespan shutdown (step 4).
There is no internal port there: use ``INTERNAL_TOKEN``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn
from uvicorn._compat import asyncio_run

from ballsy.config import Settings
from ballsy.observability.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp

log = get_logger("ballsy.serving")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Announcing(uvicorn.Server):
    """A server whose start can be awaited (``started_event``)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.started_event.set()


class GracefulServer(_Announcing):
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


class InternalServer(_Announcing):
    """The ``INTERNAL_PORT`` server: stopped by the main one, never by a signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_quietly(self) -> None:
        # uvicorn exits the process (SystemExit) when it cannot bind; inside a task that
        # would escape the event loop, so it is a failed start here, seen as not started.
        with contextlib.suppress(SystemExit):
            await self.serve()


async def _started(server: _Announcing, task: asyncio.Task[None]) -> bool:
    """Wait until ``server`` has started (True) or its ``task`` ended without (False)."""
    started = asyncio.create_task(server.started_event.wait())
    await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    return server.started


async def _serve_with_internal(server: GracefulServer, internal: InternalServer) -> None:
    main = asyncio.create_task(server.serve())
    side: asyncio.Task[None] | None = None
    # The internal app reads the main app's services: start it once they exist.
    if await _started(server, main):
        side = asyncio.create_task(internal.serve_quietly())
        if not await _started(internal, side):  # its port is taken: a failed start
            log.error("ballsy.lifecycle.internal_port_failed", port=internal.config.port)
            server.started = False
            server.should_exit = True
    try:
        await main
    finally:
        if side is not None:
            internal.should_exit = True
            await side


def run_server(
    app: FastAPI,
    settings: Settings,
    *,
    before_drain: Callable[[], Awaitable[object]] | None = None,
    internal_app: ASGIApp | None = None,
) -> None:
    """Serve ``app`` until a signal, then stop gracefully; raise SystemExit if it fails.

    ``before_drain`` is step 2 of the stop (module docstring): what closes the app's
    WebSockets once no new connection can arrive. ``internal_app`` is served on
    ``INTERNAL_HOST:INTERNAL_PORT`` alongside (module docstring).
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
    if internal_app is None or settings.internal_port is None:
        server.run()
    else:
        internal = InternalServer(
            uvicorn.Config(
                internal_app,
                host=settings.internal_host,
                port=settings.internal_port,
                log_config=None,
                access_log=False,
                lifespan="off",  # the main server runs the app's lifespan
            )
        )
        asyncio_run(_serve_with_internal(server, internal), loop_factory=config.get_loop_factory())
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
