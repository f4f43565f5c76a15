"""A small Python client for Ballsy's native voice protocol (``/ws/voice/{client_id}``).

Used by the benchmarks and tests, and handy for scripting a conversation::

    async with VoiceClient.connect("ws://127.0.0.1:8080", "ada") as client:
        await client.stream(pcm16_bytes, sample_rate=16000)   # paced like a microphone
        reply = await client.wait_for("reply_done")
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

FRAME_MS = 20


@dataclass(slots=True)
class Received:
    message: dict[str, Any]
    at: float
    """``time.perf_counter()`` when it arrived."""


@dataclass(slots=True)
class VoiceClient:
    ws: ClientConnection
    received: list[Received] = field(default_factory=list)
    audio: list[tuple[float, bytes, str | None]] = field(default_factory=list)
    """(arrival time, PCM16, turn id — None for binary frames)."""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None
    _arrivals: asyncio.Condition = field(default_factory=asyncio.Condition)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, base_url: str, client_id: str, *, query: str = "", **options: Any
    ) -> AsyncIterator[VoiceClient]:
        url = f"{base_url.replace('http', 'ws', 1)}/ws/voice/{client_id}"
        async with websockets.connect(f"{url}?{query}" if query else url, **options) as ws:
            client = cls(ws)
            client._reader = asyncio.create_task(client._read())
            try:
                yield client
            finally:
                client._reader.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                if isinstance(raw, bytes):
                    self.audio.append((now, raw, None))
                    message: dict[str, Any] = {"type": "audio_binary", "bytes": len(raw)}
                else:
                    message = json.loads(raw)
                    if message.get("type") == "audio":
                        pcm = base64.b64decode(message["data"])
                        self.audio.append((now, pcm, message.get("turn_id")))
                async with self._arrivals:
                    self.received.append(Received(message, now))
                    self._arrivals.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._arrivals:
                self._arrivals.notify_all()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def stream(self, pcm: bytes, *, sample_rate: int = 16000, realtime: bool = True) -> float:
        """Send PCM16 in 20 ms binary frames, paced like a microphone when ``realtime``.

        Returns ``time.perf_counter()`` at which the last frame was due (the moment the
        audio "ended" for the listener)."""
        frame = sample_rate * FRAME_MS // 1000 * 2
        start = time.perf_counter()
        for offset in range(0, len(pcm), frame):
            await self.ws.send(pcm[offset : offset + frame])
            if realtime:
                due = start + (offset + frame) / 2 / sample_rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
        return start + len(pcm) / 2 / sample_rate

    def messages(self, kind: str) -> list[dict[str, Any]]:
        return [r.message for r in self.received if r.message.get("type") == kind]

    async def wait_for(
        self, kind: str, *, count: int = 1, within: float = 30.0, **match: Any
    ) -> Received:
        """The ``count``-th message of type ``kind`` (matching ``match`` fields)."""

        def found() -> Received | None:
            hits = [
                r
                for r in self.received
                if r.message.get("type") == kind
                and all(r.message.get(k) == v for k, v in match.items())
            ]
            return hits[count - 1] if len(hits) >= count else None

        async with asyncio.timeout(within), self._arrivals:
            while (hit := found()) is None:
                if self.closed.is_set():
                    raise ConnectionError(f"closed before a {kind!r} message arrived")
                await self._arrivals.wait()
            return hit
