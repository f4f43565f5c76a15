"""The one writer of a Wyoming connection's socket.

Transcripts, audio and replies of concurrent requests all leave through one queue and
one task, so events never interleave mid-write and a request never waits on the
socket itself. Small events are queued at once; audio waits while more than
``max_bytes`` of payload is queued, so a client that stops reading slows synthesis
down instead of filling memory — and one that reads nothing for ``write_timeout_s``
is given up on. A failed write (the client is gone) marks the outbox failed, drops
what follows and tells the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from wyoming.event import Event, async_write_event

from ballsy.observability.logging import get_logger

log = get_logger("ballsy.wyoming.outbox")

MAX_QUEUED_BYTES = 1024 * 1024


class Outbox:
    def __init__(
        self,
        writer: asyncio.StreamWriter,
        *,
        on_failure: Callable[[], None],
        max_bytes: int = MAX_QUEUED_BYTES,
        write_timeout_s: float = 60.0,
    ) -> None:
        self.writer = writer
        self.on_failure = on_failure
        self.max_bytes = max_bytes
        self.write_timeout_s = write_timeout_s
        self.failed = False
        self.closed = False
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queued_bytes = 0
        self._room = asyncio.Event()
        self._room.set()
        self._task = asyncio.create_task(self._run(), name="wyoming outbox")

    def send(self, event: Event) -> None:
        """Queue ``event`` (dropped once the socket failed or the outbox closed)."""
        if self.failed or self.closed:
            return
        self._queued_bytes += len(event.payload or b"")
        if self._queued_bytes > self.max_bytes:
            self._room.clear()
        self._queue.put_nowait(event)

    async def send_audio(self, event: Event) -> None:
        """Queue an audio event once there is room for it."""
        await self._room.wait()
        self.send(event)

    async def _run(self) -> None:
        try:
            while (event := await self._queue.get()) is not None:
                await asyncio.wait_for(async_write_event(event, self.writer), self.write_timeout_s)
                self._queued_bytes -= len(event.payload or b"")
                if self._queued_bytes <= self.max_bytes:
                    self._room.set()
        except (ConnectionError, OSError, RuntimeError, TimeoutError) as exc:
            log.info("ballsy.wyoming.write_failed", error=type(exc).__name__)
            self.failed = True
            self._room.set()  # nobody may wait for room that will never come
            self.on_failure()

    async def close(self, wait_s: float = 2.0) -> None:
        """Send what is queued (for at most ``wait_s`` seconds), then close the socket."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), wait_s)
        finally:
            if not self._task.done():
                self._task.cancel()
            self.writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), wait_s)
