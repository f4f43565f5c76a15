"""One WebSocket's outbound side: a bounded queue drained by a single sender task.

The engine and the protocol adapters never await the network: they enqueue. A client
that stops reading fills the queue, and is then closed at once (1008, "slow consumer")
instead of making the server buffer without limit; any other close goes out after the
messages already queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ballsy.observability.logging import get_logger

log = get_logger("ballsy.realtime.outbox")

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013
_CLOSE = object()


class Outbox:
    def __init__(self, websocket: WebSocket, *, max_messages: int) -> None:
        self.websocket = websocket
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_messages)
        self._sender: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: int | None = None

    def start(self) -> None:
        """Start sending; the calling task is the connection, cancelled if it must die."""
        self._owner = asyncio.current_task()
        self._sender = asyncio.create_task(self._drain())

    def send_json(self, message: dict[str, Any]) -> None:
        self._put(json.dumps(message, separators=(",", ":"), ensure_ascii=False))

    def send_bytes(self, data: bytes) -> None:
        self._put(data)

    def _put(self, item: object) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("ballsy.realtime.slow_consumer", queued=self._queue.qsize())
            self._abort(POLICY_VIOLATION, "slow consumer: the client is not reading")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after the messages already queued (so a last error still reaches the
        client); at once when the queue is full."""
        if self.closed:
            return
        try:
            self._queue.put_nowait((_CLOSE, code, reason))
        except asyncio.QueueFull:
            self._abort(code, reason)
            return
        self.closed = True
        self.close_code = code
        if self._sender is None or self._sender.done():
            self._closer = asyncio.create_task(self._close_socket(code, reason))

    def _abort(self, code: int, reason: str) -> None:
        """The client does not read: drop the queue, stop the sender and end the
        connection's task; the server then drops the socket."""
        self.closed = True
        self.close_code = code
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._sender is not None:
            self._sender.cancel()
        self._closer = asyncio.create_task(self._close_socket(code, reason))
        if self._owner is not None and self._owner is not asyncio.current_task():
            self._owner.cancel()

    async def _drain(self) -> None:
        websocket = self.websocket
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, tuple) and item and item[0] is _CLOSE:
                    await self._close_socket(item[1], item[2])
                    return
                if isinstance(item, bytes):
                    await websocket.send_bytes(item)
                elif isinstance(item, str):
                    await websocket.send_text(item)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True

    async def _close_socket(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
                await asyncio.wait_for(self.websocket.close(code=code, reason=reason[:120]), 1.0)

    async def flush_and_stop(self, wait_s: float = 2.0) -> None:
        """Let queued messages go out (bounded), then stop the sender."""
        if self._sender is None:
            return
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait((_CLOSE, 1000, ""))
        try:
            await asyncio.wait_for(asyncio.shield(self._sender), wait_s)
        except (TimeoutError, asyncio.CancelledError):
            self._sender.cancel()
