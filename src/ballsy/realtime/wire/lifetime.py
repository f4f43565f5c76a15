"""The life of one realtime WebSocket, the same for every wire protocol.

A protocol adapter (native ``/ws/voice``, OpenAI ``/v1/realtime``) only translates
messages; :func:`serve_connection` does the rest around it: take one of
``MAX_CONCURRENT_SESSIONS`` slots (else an error and close 1013), register the socket
for graceful shutdown (its turn in flight persisted, then close 1012), receive
messages (over ``realtime_max_frame_bytes``: error and close 1009), keep the
connection alive or end it (idle timeout, maximum session length), and on the way
out cancel everything and give the slot back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from fastapi import WebSocket
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.websockets import WebSocketDisconnect

from ballsy.config import Settings
from ballsy.errors import BallsyError, ServiceBusy
from ballsy.lifecycle import SERVICE_RESTART
from ballsy.realtime.transport import MESSAGE_TOO_BIG, TRY_AGAIN_LATER, Outbox
from ballsy.services import Services


class RealtimeConnection(Protocol):
    """What a protocol adapter gives :func:`serve_connection`."""

    outbox: Outbox

    def opened(self, session_id: str) -> None:
        """The session slot is held: greet the client."""

    def on_message(self, message: MutableMapping[str, Any]) -> None:
        """One ASGI ``websocket.receive`` message (text or bytes); never blocks."""

    def notice(self, code: str, message: str) -> None:
        """Tell the client about a problem, in the protocol's own error format."""

    def ping(self) -> None:
        """A keepalive message, where the protocol has one."""

    async def close(self) -> None:
        """Cancel the connection's work; the reply in flight is persisted first."""

    @property
    def busy(self) -> bool:
        """A reply is being generated or played (the client is not idle, just listening)."""


class _Activity:
    def __init__(self, messages_per_minute: int) -> None:
        self.opened = self.last_heard = time.monotonic()
        # A session lives on one instance, so its message budget is counted here, with
        # the limits library's in-process moving window (no network hop per frame).
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerMinute(messages_per_minute)
        self._warned = False

    def allow_message(self) -> bool:
        allowed = self._limiter.hit(self._item, "messages")
        if allowed:
            self._warned = False
        return allowed

    def first_refusal(self) -> bool:
        """True once per run of refused messages, so the client is told only once."""
        warned, self._warned = self._warned, True
        return not warned


async def serve_connection(
    websocket: WebSocket,
    connection: RealtimeConnection,
    *,
    user_id: str,
    device: str,
    endpoint: str,
) -> None:
    """Run an accepted, authenticated ``websocket`` until either side ends it."""
    services: Services = websocket.app.state.services
    outbox = connection.outbox
    outbox.start()
    try:
        slot = await services.sessions.open(user_id, device=device)
    except ServiceBusy as exc:
        connection.notice("too_many_sessions", exc.message)
        outbox.close(TRY_AGAIN_LATER, "too many sessions")
        await outbox.flush_and_stop(wait_s=1.0)
        return
    connection.opened(slot.id)
    activity = _Activity(services.settings.ws_messages_per_minute)

    async def heartbeat() -> None:
        await services.sessions.touch(slot.id, user_id)

    keepalive = asyncio.create_task(_keepalive(connection, activity, services.settings, heartbeat))

    async def on_shutdown() -> None:
        await connection.close()  # persists the turn in flight
        connection.notice("server_restarting", "reconnect to continue")
        # Close with 1012 after the notice; flush_and_stop alone would close with 1000,
        # which clients read as "done", not "reconnect".
        outbox.close(SERVICE_RESTART, "server restarting")
        await outbox.flush_and_stop(wait_s=1.0)

    registry = services.connections
    try:
        async with registry.track(websocket, endpoint=endpoint, on_shutdown=on_shutdown):
            await _receive(websocket, connection, activity, services.settings)
    except (WebSocketDisconnect, asyncio.CancelledError):
        pass
    finally:
        keepalive.cancel()
        await connection.close()
        await outbox.flush_and_stop(wait_s=1.0)
        with contextlib.suppress(BallsyError):
            await services.sessions.close(slot.id, user_id)


async def _receive(
    websocket: WebSocket, connection: RealtimeConnection, activity: _Activity, settings: Settings
) -> None:
    limit = settings.realtime_max_frame_bytes
    while not connection.outbox.closed:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        activity.last_heard = time.monotonic()
        data, text = message.get("bytes"), message.get("text")
        size = len(data) if data is not None else len(text or "")
        if size > limit:
            connection.notice("frame_too_large", f"messages are limited to {limit} bytes")
            connection.outbox.close(MESSAGE_TOO_BIG, "frame too large")
            return
        if not activity.allow_message():
            if activity.first_refusal():
                connection.notice(
                    "rate_limited",
                    f"more than {settings.ws_messages_per_minute} messages a minute; "
                    "messages are dropped until the rate falls",
                )
            continue
        connection.on_message(message)


async def _keepalive(
    connection: RealtimeConnection,
    activity: _Activity,
    settings: Settings,
    heartbeat: Callable[[], Awaitable[None]],
) -> None:
    """Ping, renew the session's slot, enforce the idle timeout and the length limit."""
    outbox = connection.outbox
    interval = min(settings.realtime_ping_interval, settings.realtime_idle_timeout)
    while not outbox.closed:
        await asyncio.sleep(interval)
        now = time.monotonic()
        if now - activity.opened >= settings.realtime_max_session_seconds:
            connection.notice("session_expired", "the maximum session length was reached")
            outbox.close(1000, "session time limit")
            return
        if connection.busy:
            activity.last_heard = now  # waiting for a long reply is not being idle
        elif now - activity.last_heard >= settings.realtime_idle_timeout:
            outbox.close(1000, "idle timeout")
            return
        connection.ping()
        try:
            await heartbeat()
        except ServiceBusy as exc:  # the slot lapsed and the cap filled up meanwhile
            connection.notice("too_many_sessions", exc.message)
            outbox.close(TRY_AGAIN_LATER, "too many sessions")
            return
        except BallsyError:
            pass  # state backend trouble is logged there; the socket carries on
