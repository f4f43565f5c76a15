"""The life of one realtime WebSocket, the same for every wire protocol.

A protocol adapter (native ``/ws/voice``, OpenAI ``/v1/realtime``) only translates
messages; :func:`serve_connection` does the rest around it:

- take one of ``MAX_CONCURRENT_SESSIONS`` slots and one of the user's
  ``MAX_SESSIONS_PER_USER`` (else a ``too_many_sessions`` error and close 1013);
- register the socket for graceful shutdown (its turn in flight persisted, then 1012);
- receive messages and hand them to the adapter, one at a time (a message over
  ``REALTIME_MAX_FRAME_BYTES``: ``frame_too_large`` and close 1009; more than
  ``WS_MESSAGES_PER_MINUTE``: one ``rate_limited`` error, the excess dropped);
- drain the session's events in one task of its own and hand them to the adapter to
  render, so protocol code never runs inside the engine's tasks;
- police the input budget: audio sent faster than real time is dropped by the engine;
  the client is told with an ``audio_overrun`` error (at most once every
  :data:`OVERRUN_NOTICE_EVERY_S`), and a client that keeps flooding is closed with
  1008, reason ``"audio overrun"``;
- keep the connection alive or end it (idle timeout, maximum session length);
- on the way out cancel everything and give the slots back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import WebSocket
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.websockets import WebSocketDisconnect

from ballsy.config import Settings, is_loopback
from ballsy.errors import BallsyError, ServiceBusy
from ballsy.observability.logging import get_logger
from ballsy.observability.metrics import SESSIONS, record_rate_limited
from ballsy.realtime.connections import SERVICE_RESTART, ConnectionRegistry
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import InputOverrun, SessionEvent
from ballsy.realtime.wire.outbox import MESSAGE_TOO_BIG, POLICY_VIOLATION, TRY_AGAIN_LATER, Outbox
from ballsy.realtime.wire.penalties import OverrunPenalties
from ballsy.state.sessions import SessionSlots

log = get_logger("ballsy.realtime.lifetime")

INTERNAL_ERROR = 1011
OVERRUN_NOTICE_EVERY_S = 2.0
"""A flooding client is told about dropped audio at most this often."""


class RealtimeConnection(Protocol):
    """What a protocol adapter gives :func:`serve_connection`."""

    outbox: Outbox
    session: VoiceSession

    def opened(self, session_id: str) -> None:
        """The session slot is held: greet the client."""

    async def on_message(self, message: MutableMapping[str, Any]) -> None:
        """One ASGI ``websocket.receive`` message (text or bytes), awaited before the next
        is read; it may wait for the engine but never for the client."""

    def render(self, event: SessionEvent) -> None:
        """One engine event, as the protocol's messages (queued on the outbox)."""

    def notice(self, code: str, message: str) -> None:
        """Tell the client about a problem, in the protocol's own error format."""

    def ping(self) -> None:
        """A keepalive message, where the protocol has one."""

    async def close(self) -> None:
        """Close the session (the reply in flight is persisted first), then render the
        events still queued."""

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


@dataclass(frozen=True, slots=True)
class SocketServices:
    """What a socket's lifetime needs of the process: the route hands it over."""

    sessions: SessionSlots
    """Session slots (global and per user), in the shared state."""
    connections: ConnectionRegistry
    """Open sockets, closed with 1012 on shutdown."""
    settings: Settings
    penalties: OverrunPenalties
    """Users and addresses closed for flooding audio, barred for a while."""


async def serve_connection(
    websocket: WebSocket,
    connection: RealtimeConnection,
    services: SocketServices,
    *,
    user_id: str,
    device: str,
    endpoint: str,
    revoked: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run an accepted, authenticated ``websocket`` until either side ends it, or until
    ``revoked()`` returns (the caller's access was withdrawn: an error, then 1008)."""
    outbox = connection.outbox
    outbox.start()
    offenders = [f"user:{user_id}"]
    address = websocket.client.host if websocket.client is not None else None
    if services.settings.auth_mode == "none" and address and not is_loopback(address):
        # Without authentication a name is the client's to choose: bar its address too
        # (not loopback's, which is the operator's own machine).
        offenders.append(f"address:{address}")
    if (wait := services.penalties.retry_after(offenders)) > 0:
        connection.notice(
            "audio_overrun", f"closed for sending audio too fast; retry in {wait:.0f} s"
        )
        outbox.close(POLICY_VIOLATION, "audio overrun")
        await outbox.flush_and_stop(wait_s=1.0)
        await connection.close()
        return
    try:
        slot = await services.sessions.open(user_id, device=device)
    except ServiceBusy as exc:
        connection.notice("too_many_sessions", exc.message)
        outbox.close(TRY_AGAIN_LATER, "too many sessions")
        await outbox.flush_and_stop(wait_s=1.0)
        await connection.close()
        return
    connection.opened(slot.id)
    activity = _Activity(services.settings.ws_messages_per_minute)

    async def heartbeat() -> None:
        await services.sessions.touch(slot.id, user_id)

    renderer = asyncio.create_task(
        _render_events(connection, lambda: services.penalties.punish(offenders))
    )
    keepalive = asyncio.create_task(_keepalive(connection, activity, services.settings, heartbeat))
    watcher = asyncio.create_task(_close_when_revoked(connection, revoked)) if revoked else None

    async def on_shutdown() -> None:
        await connection.close()  # persists the turn in flight
        connection.notice("server_restarting", "reconnect to continue")
        # Close with 1012 after the notice; flush_and_stop alone would close with 1000,
        # which clients read as "done", not "reconnect".
        outbox.close(SERVICE_RESTART, "server restarting")
        await outbox.flush_and_stop(wait_s=1.0)

    registry = services.connections
    SESSIONS.inc()
    try:
        async with registry.track(websocket, endpoint=endpoint, on_shutdown=on_shutdown):
            await _receive(websocket, connection, activity, services.settings)
    except (WebSocketDisconnect, asyncio.CancelledError):
        pass
    finally:
        keepalive.cancel()
        if watcher is not None:
            watcher.cancel()
        await connection.close()
        renderer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renderer
        await outbox.flush_and_stop(wait_s=1.0)
        SESSIONS.dec()
        with contextlib.suppress(BallsyError):
            await services.sessions.close(slot.id, user_id)


async def _close_when_revoked(
    connection: RealtimeConnection, revoked: Callable[[], Awaitable[None]]
) -> None:
    await revoked()
    connection.notice("unauthorized", "your access was revoked or changed: reconnect")
    connection.outbox.close(POLICY_VIOLATION, "unauthorized")


async def _render_events(connection: RealtimeConnection, punish: Callable[[], float]) -> None:
    """The connection's one event task: engine events → the adapter's messages."""
    notified_at: float | None = None
    try:
        async for event in connection.session.events():
            if not isinstance(event, InputOverrun):
                connection.render(event)
                continue
            if event.close:
                wait = punish()
                connection.notice(
                    "audio_overrun",
                    f"closed for sending audio faster than real time; retry in {wait:.0f} s",
                )
                connection.outbox.close(POLICY_VIOLATION, "audio overrun")
                return
            now = time.monotonic()
            if notified_at is None or now - notified_at >= OVERRUN_NOTICE_EVERY_S:
                notified_at = now
                connection.notice(
                    "audio_overrun",
                    "audio is arriving faster than real time; "
                    f"{event.dropped_ms} ms of it was dropped so far",
                )
    except Exception:
        log.exception("ballsy.realtime.render_failed")
        connection.outbox.close(INTERNAL_ERROR, "internal error")


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
            record_rate_limited("ws_message")
            if activity.first_refusal():
                connection.notice(
                    "rate_limited",
                    f"more than {settings.ws_messages_per_minute} messages a minute; "
                    "messages are dropped until the rate falls",
                )
            continue
        await connection.on_message(message)


async def _keepalive(
    connection: RealtimeConnection,
    activity: _Activity,
    settings: Settings,
    heartbeat: Callable[[], Awaitable[None]],
) -> None:
    """Ping, renew the session's slots, enforce the idle timeout and the length limit."""
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
        except ServiceBusy as exc:  # a slot lapsed and its cap filled up meanwhile
            connection.notice("too_many_sessions", exc.message)
            outbox.close(TRY_AGAIN_LATER, "too many sessions")
            return
        except BallsyError:
            pass  # state backend trouble is logged there; the socket carries on
