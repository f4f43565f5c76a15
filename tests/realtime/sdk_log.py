"""An official-SDK realtime connection, read in the background, every event validated.

``connection.recv()`` in the SDK builds its models without validation; this reads the
raw frames instead and validates each against the SDK's own server-event union (GA or
beta), so a field of the wrong shape fails the test rather than passing unnoticed.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent
from pydantic import TypeAdapter, ValidationError

RATE = 24_000
SCHEMAS: dict[str, TypeAdapter[Any]] = {
    "ga": TypeAdapter(GAServerEvent),
    "beta": TypeAdapter(BetaServerEvent),
}


@dataclass(slots=True)
class EventLog:
    connection: Any
    schema: TypeAdapter[Any]
    events: list[Any] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _arrivals: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    @asynccontextmanager
    async def attach(cls, connection: Any, dialect: str) -> AsyncIterator[EventLog]:
        log = cls(connection, SCHEMAS[dialect])
        reader = asyncio.create_task(log._read())
        try:
            yield log
        finally:
            reader.cancel()
        assert not log.invalid, log.invalid[:3]

    async def _read(self) -> None:
        try:
            while True:
                raw = await self.connection.recv_bytes()
                try:
                    event = self.schema.validate_json(raw)
                except ValidationError as exc:
                    self.invalid.append(f"{raw[:300]!r}: {exc}")
                    continue
                async with self._arrivals:
                    self.events.append(event)
                    self._arrivals.notify_all()
        except Exception:  # the connection closed
            pass
        finally:
            self.closed.set()
            async with self._arrivals:
                self._arrivals.notify_all()

    def of(self, kind: str, *, since: int = 0) -> list[Any]:
        return [e for e in self.events[since:] if e.type == kind]

    def index(self, event: Any) -> int:
        return next(i for i, e in enumerate(self.events) if e is event)

    async def wait_for(
        self,
        kind: str,
        *,
        since: int = 0,
        within: float = 30.0,
        where: Callable[[Any], bool] = lambda _: True,
    ) -> Any:
        """The first event of type ``kind`` at or after position ``since``."""

        def found() -> Any:
            return next((e for e in self.of(kind, since=since) if where(e)), None)

        async with asyncio.timeout(within), self._arrivals:
            while (hit := found()) is None:
                if self.closed.is_set():
                    raise ConnectionError(f"closed before a {kind!r} event arrived")
                await self._arrivals.wait()
            return hit

    async def stream(self, pcm: bytes, *, chunk_ms: int = 100, realtime: bool = True) -> None:
        """Append 24 kHz PCM16 in ``chunk_ms`` pieces, paced like a microphone."""
        step = RATE * 2 * chunk_ms // 1000
        start = time.perf_counter()
        for offset in range(0, len(pcm), step):
            chunk = base64.b64encode(pcm[offset : offset + step]).decode()
            await self.connection.input_audio_buffer.append(audio=chunk)
            if realtime:
                due = start + (offset + step) / 2 / RATE
                await asyncio.sleep(max(0.0, due - time.perf_counter()))


def audio_of(events: list[Any]) -> bytes:
    """The PCM16 of audio delta events, decoded."""
    return b"".join(base64.b64decode(e.delta) for e in events)
