"""Graceful shutdown: the order in which a Ballsy process stops, and its WebSockets.

On the first SIGTERM or SIGINT, :class:`GracefulServer` (what ``ballsy serve`` runs)

1. stops accepting connections;
2. tells every registered WebSocket client and closes it with 1012 (*service restart*)
   so it reconnects to another instance — each endpoint's ``on_shutdown`` hook first
   persists what is finished and says goodbye;
3. lets in-flight HTTP requests finish, for at most ``shutdown_grace_seconds``, then
   cancels what is left;
4. runs the app's lifespan shutdown (``Services.close``: providers, database pools);
5. exits with status 0.

WebSocket endpoints take part by entering :meth:`ConnectionRegistry.track` for the life
of the connection; the registry also keeps the ``ballsy_ws_connections_active`` gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import uvicorn
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ballsy.config import Settings
from ballsy.observability import metrics
from ballsy.observability.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

log = get_logger("ballsy.lifecycle")

# RFC 6455 §7.4 / IANA registry: "Service Restart" — the client should reconnect.
SERVICE_RESTART = 1012
_CLOSE_REASON = "server restarting"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(eq=False, slots=True)
class _Connection:
    websocket: WebSocket
    endpoint: str
    on_shutdown: Callable[[], Awaitable[None]] | None
    task: asyncio.Task[object] | None
    left: asyncio.Event = field(default_factory=asyncio.Event)
    opened_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """One open WebSocket as the admin dashboard lists it (a read-only snapshot)."""

    websocket: WebSocket
    endpoint: str
    opened_at: float  # epoch seconds


class ConnectionRegistry:
    """The open WebSocket connections of this process, so that shutdown can close them.

    ``hook_timeout`` bounds each connection's ``on_shutdown``; ``leave_timeout`` bounds
    how long endpoints get to leave their ``track`` block once closed before their task
    is cancelled.
    """

    def __init__(self, *, hook_timeout: float = 3.0, leave_timeout: float = 2.0) -> None:
        self._open: set[_Connection] = set()
        self.closing = False
        self.hook_timeout = hook_timeout
        self.leave_timeout = leave_timeout

    def __len__(self) -> int:
        return len(self._open)

    def snapshot(self) -> list[OpenConnection]:
        """The open connections, oldest first."""
        entries = sorted(self._open, key=lambda entry: entry.opened_at)
        return [OpenConnection(e.websocket, e.endpoint, e.opened_at) for e in entries]

    @contextlib.asynccontextmanager
    async def track(
        self,
        websocket: WebSocket,
        *,
        endpoint: str,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[None]:
        """Keep ``websocket`` registered while the block runs.

        Once shutdown has begun a new connection is closed with 1012 at once and
        ``WebSocketDisconnect`` raised, which endpoints already handle.
        """
        if self.closing:
            await websocket.close(code=SERVICE_RESTART, reason=_CLOSE_REASON)
            raise WebSocketDisconnect(code=SERVICE_RESTART, reason=_CLOSE_REASON)
        entry = _Connection(websocket, endpoint, on_shutdown, asyncio.current_task())
        self._open.add(entry)
        metrics.WS_CONNECTIONS.labels(endpoint).inc()
        try:
            yield
        finally:
            self._open.discard(entry)
            metrics.WS_CONNECTIONS.labels(endpoint).dec()
            entry.left.set()

    async def close_all(self, code: int = SERVICE_RESTART, reason: str = _CLOSE_REASON) -> int:
        """Run every hook, close every connection with ``code``; return how many."""
        self.closing = True
        entries = list(self._open)
        if not entries:
            return 0
        log.info("ballsy.lifecycle.websockets_closing", count=len(entries))
        await asyncio.gather(*(self._close(entry, code, reason) for entry in entries))
        try:
            await asyncio.wait_for(
                asyncio.gather(*(entry.left.wait() for entry in entries)), self.leave_timeout
            )
        except TimeoutError:
            stuck = [entry for entry in entries if not entry.left.is_set()]
            log.warning("ballsy.lifecycle.websockets_cancelled", count=len(stuck))
            for entry in stuck:
                if entry.task is not None:
                    entry.task.cancel()
        return len(entries)

    async def _close(self, entry: _Connection, code: int, reason: str) -> None:
        if entry.on_shutdown is not None:
            try:
                await asyncio.wait_for(entry.on_shutdown(), self.hook_timeout)
            except Exception as exc:  # one failing hook must not keep others open
                log.warning(
                    "ballsy.lifecycle.shutdown_hook_failed",
                    endpoint=entry.endpoint,
                    error=type(exc).__name__,
                )
        websocket = entry.websocket
        if websocket.application_state is not WebSocketState.CONNECTED:
            return
        # The client may be gone already (reset, or closed at the same moment).
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)


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


def run_server(app: FastAPI, settings: Settings) -> None:
    """Serve ``app`` until a signal, then stop gracefully; raise SystemExit if it fails."""

    async def close_websockets() -> None:
        services = getattr(app.state, "services", None)
        if services is not None:
            await services.connections.close_all()

    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.port,
        # Logging is configured by Ballsy (configure_logging); uvicorn's own dictConfig
        # would give its loggers separate handlers and a second format.
        log_config=None,
        access_log=False,
        ws_max_size=1024 * 1024,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )
    server = GracefulServer(config, before_drain=close_websockets)
    server.run()
    if not server.started:
        raise SystemExit(3)


def create_worker_app() -> FastAPI:
    """An app factory for process managers that start several workers themselves::

        PROMETHEUS_MULTIPROC_DIR=/tmp/ballsy-metrics \\
            uvicorn ballsy.lifecycle:create_worker_app --factory --workers 4 --no-access-log
    """
    from ballsy.app import create_app

    settings = Settings()
    configure_logging(settings)
    return create_app(settings)
