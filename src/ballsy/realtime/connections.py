"""The open WebSockets of this process, so that a graceful stop can close them.

Every WebSocket endpoint enters :meth:`ConnectionRegistry.track` for the life of its
connection. When the process stops (:mod:`ballsy.serving` tells the whole order),
:meth:`ConnectionRegistry.close_all` runs each connection's ``on_shutdown`` hook —
persist what is finished, say goodbye — and closes it with :data:`SERVICE_RESTART`
(1012), so the client reconnects to another instance. The registry also keeps the
``ballsy_ws_connections_active`` gauge, and the admin dashboard lists its
:meth:`~ConnectionRegistry.snapshot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ballsy.observability import metrics
from ballsy.observability.logging import get_logger

log = get_logger("ballsy.realtime.connections")

# RFC 6455 §7.4 / IANA registry: "Service Restart" — the client should reconnect.
SERVICE_RESTART = 1012
_CLOSE_REASON = "server restarting"


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
