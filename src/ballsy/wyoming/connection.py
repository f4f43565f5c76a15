"""One Wyoming client: the protocol's state machine for a connection.

The read loop takes one event at a time (:func:`~ballsy.wyoming.framing.read_event`,
size-capped) and dispatches it by type to the service it belongs to — speech-to-text
(:class:`~ballsy.wyoming.asr.AsrEvents`), text-to-speech
(:class:`~ballsy.wyoming.tts.TtsEvents`), the assistant
(:class:`~ballsy.wyoming.handle.HandleEvents`) or ``describe``/``ping`` here. Each of
those owns its part of the protocol's state; requests that outlive their event run as
tasks (:class:`~ballsy.wyoming.requests.Requests`) and every answer leaves through the
connection's one :class:`~ballsy.wyoming.outbox.Outbox`.

Bad input never crashes anything: an unknown or ill-formed event, a request out of
order or over a limit gets an ``error`` event and the connection goes on (the rest
of a refused stream is skipped quietly); bytes that are not Wyoming framing, an
oversized event or too many errors get an ``error`` and a close; a client that just
disappears ends its requests and the connection cleanly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from wyoming.event import Event
from wyoming.ping import Ping, Pong

from ballsy.errors import BallsyError
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.wyoming.asr import AsrEvents
from ballsy.wyoming.backends import WyomingBackends
from ballsy.wyoming.errors import (
    ProtocolViolation,
    RequestFailed,
    UnknownEvent,
    describe_error,
    error_event,
    parse,
)
from ballsy.wyoming.framing import FramingError, TruncatedEvent, read_event
from ballsy.wyoming.handle import HandleEvents
from ballsy.wyoming.info import PROGRAM
from ballsy.wyoming.limits import WyomingLimits
from ballsy.wyoming.outbox import Outbox
from ballsy.wyoming.requests import ConnectionContext, Requests
from ballsy.wyoming.tts import TtsEvents

log = get_logger("ballsy.wyoming")

Handler = Callable[[Event], Awaitable[None]]


class WyomingConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        backends: WyomingBackends,
        limits: WyomingLimits,
        *,
        peer: str | None,
    ) -> None:
        self.reader = reader
        self.backends = backends
        self.limits = limits
        self.peer = peer
        self.id = uuid.uuid4().hex[:12]
        self.errors = 0
        self.outbox = Outbox(writer, on_failure=self._lost, write_timeout_s=limits.idle_timeout_s)
        self.requests = Requests(
            max_streams=limits.max_streams, connection=self.id, on_error=self._error
        )
        context = ConnectionContext(backends, limits, self.outbox, self.requests)
        self.asr = AsrEvents(context)
        self.tts = TtsEvents(context)
        self.handle = HandleEvents(context)
        self._task: asyncio.Task[Any] | None = None
        self._handlers: dict[str, Handler] = {
            "describe": self._describe,
            "ping": self._ping,
            "select-program": self._select_program,
            "transcribe": self.asr.transcribe,
            "audio-start": self.asr.audio_start,
            "audio-chunk": self.asr.audio_chunk,
            "audio-stop": self.asr.audio_stop,
            "synthesize": self.tts.synthesize,
            "synthesize-start": self.tts.synthesize_start,
            "synthesize-chunk": self.tts.synthesize_chunk,
            "synthesize-stop": self.tts.synthesize_stop,
            "transcript": self.handle.transcript,
        }

    @property
    def busy(self) -> bool:
        """A request is in progress."""
        return self.requests.slots > 0

    # --- the read loop -------------------------------------------------------------------

    async def run(self) -> None:
        self._task = asyncio.current_task()
        metrics.WYOMING_CONNECTIONS.inc()
        log.info("ballsy.wyoming.connection_opened", connection=self.id, peer=self.peer)
        reason = "closed_by_client"
        try:
            reason = await self._read_loop()
        except TruncatedEvent:
            reason = "disconnected"
        except FramingError as exc:
            reason = exc.code
            self._error(exc.code, exc.message)
        except (ConnectionError, OSError):
            reason = "disconnected"
        except asyncio.CancelledError:
            reason = "disconnected" if self.outbox.failed else "server_closed"
            raise
        finally:
            await self._abandon()
            await self.outbox.close()
            metrics.WYOMING_CONNECTIONS.dec()
            log.info("ballsy.wyoming.connection_closed", connection=self.id, reason=reason)

    async def _read_loop(self) -> str:
        limits = self.limits
        while True:
            try:
                event = await read_event(
                    self.reader,
                    max_event_bytes=limits.max_event_bytes,
                    max_payload_bytes=limits.max_payload_bytes,
                    idle_s=limits.idle_timeout_s,
                )
            except TimeoutError:
                if self.busy:  # a client waiting for a long answer is not idle
                    continue
                return "idle"
            if event is None:
                return "closed_by_client"
            await self._dispatch(event)
            if self.errors >= limits.max_errors:
                self._error("too_many_errors", f"{self.errors} errors on this connection")
                return "too_many_errors"

    async def _dispatch(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        kind = event.type if handler is not None else "unknown"
        metrics.WYOMING_EVENTS.labels(kind).inc()
        if kind != "audio-chunk":
            log.debug("ballsy.wyoming.event", connection=self.id, type=kind)
        try:
            if handler is None:
                raise UnknownEvent(f"unknown event type {event.type[:64]!r}")
            await handler(event)
        except (BallsyError, RequestFailed) as exc:
            self._error(*describe_error(exc))
        except Exception as exc:
            log.exception("ballsy.wyoming.event_failed", connection=self.id, type=kind)
            self._error(*describe_error(exc))

    def _error(self, code: str, message: str) -> None:
        self.errors += 1
        metrics.WYOMING_ERRORS.labels(code).inc()
        log.info("ballsy.wyoming.error_sent", connection=self.id, code=code)
        self.outbox.send(error_event(code, message))

    # --- describe, ping --------------------------------------------------------------

    async def _describe(self, event: Event) -> None:
        self.outbox.send(self.backends.info)

    async def _ping(self, event: Event) -> None:
        self.outbox.send(Pong(text=parse(Ping, event).text).event())

    async def _select_program(self, event: Event) -> None:
        name = event.data.get("name")
        if name != PROGRAM:
            raise ProtocolViolation(
                f"unknown program {str(name)[:64]!r}; this server has {PROGRAM!r}"
            )

    # --- the end ---------------------------------------------------------------------

    def _lost(self) -> None:
        """The socket failed under the outbox: stop reading, end everything."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def close(self) -> None:
        """End this connection now (server shutdown)."""
        self._lost()

    async def _abandon(self) -> None:
        """Stop every request still running (the client is gone or the server closing)."""
        await self.asr.close()
        await self.tts.close()
        await self.requests.cancel_all()
