"""Reading Wyoming events off a socket without trusting the sender.

An event is a JSON header line (``type``, optional ``data``, ``data_length``,
``payload_length``), then ``data_length`` bytes of JSON merged into ``data``, then
``payload_length`` bytes of binary payload. The ``wyoming`` package's own reader
believes every length it is given; this one caps the header line (the stream
reader's limit), the extra data and the payload before reading any of them, so a
client cannot make the server buffer more than a few configured bytes. Writing uses
the package's own ``async_write_event``.

A :class:`FramingError` means the byte stream can no longer be trusted to be in step
(the next event's start is unknown): the connection answers with an ``error`` event
and closes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

from ballsy.errors import BallsyError


class FramingError(BallsyError):
    """The bytes are not a Wyoming event we are willing to read."""

    status_code = 400
    code = "malformed_event"


class EventTooLarge(FramingError):
    status_code = 413
    code = "event_too_large"


class PayloadTooLarge(FramingError):
    status_code = 413
    code = "payload_too_large"


class TruncatedEvent(FramingError):
    """The connection ended in the middle of an event (an abrupt disconnect)."""

    code = "truncated_event"


async def read_event(
    reader: asyncio.StreamReader,
    *,
    max_event_bytes: int,
    max_payload_bytes: int,
    idle_s: float,
) -> Event | None:
    """The next event, or None at a clean end of stream (between two events).

    ``reader`` must have been created with ``limit=max_event_bytes`` so the header line
    itself is bounded. ``TimeoutError`` when no event starts within ``idle_s`` (nothing
    is consumed then, so reading may simply go on); a sender that stalls mid-event for
    that long is a :class:`TruncatedEvent`.
    """
    try:
        # readuntil takes bytes off the buffer only when it returns: a timeout is harmless.
        line = await asyncio.wait_for(reader.readuntil(b"\n"), idle_s)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise TruncatedEvent("the connection closed in the middle of an event header") from None
    except asyncio.LimitOverrunError:
        raise EventTooLarge(
            f"event header longer than {max_event_bytes} bytes",
            detail={"max_event_bytes": max_event_bytes},
        ) from None
    header = _json_object(line, "event header")
    event_type = header.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise FramingError("event header has no 'type'")
    data = header.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise FramingError("event 'data' must be an object")
    data_length = _length(header, "data_length")
    payload_length = _length(header, "payload_length")
    if len(line) + data_length > max_event_bytes:
        raise EventTooLarge(
            f"event header and data longer than {max_event_bytes} bytes",
            detail={"max_event_bytes": max_event_bytes},
        )
    if payload_length > max_payload_bytes:
        raise PayloadTooLarge(
            f"event payload longer than {max_payload_bytes} bytes",
            detail={"max_payload_bytes": max_payload_bytes},
        )
    if data_length:
        raw = await _read_exactly(reader, data_length, idle_s)
        data.update(_json_object(raw, "event data"))
    payload = await _read_exactly(reader, payload_length, idle_s) if payload_length else None
    return Event(type=event_type, data=data, payload=payload)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FramingError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise FramingError(f"{what} must be a JSON object")
    return value


def _length(header: dict[str, Any], key: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FramingError(f"'{key}' must be a non-negative integer")
    return value


async def _read_exactly(reader: asyncio.StreamReader, length: int, idle_s: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.readexactly(length), idle_s)
    except asyncio.IncompleteReadError:
        raise TruncatedEvent("the connection closed in the middle of an event") from None
    except TimeoutError:
        raise TruncatedEvent("the client stalled in the middle of an event") from None
