"""``read_event``: Wyoming framing with every length checked before it is read."""

from __future__ import annotations

import asyncio
import json

import pytest
from wyoming.event import Event, async_write_event

from ballsy.wyoming.framing import (
    EventTooLarge,
    FramingError,
    PayloadTooLarge,
    TruncatedEvent,
    read_event,
)

LIMIT = 4096


def reader_of(raw: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=LIMIT)
    reader.feed_data(raw)
    if eof:
        reader.feed_eof()
    return reader


async def read(raw: bytes, *, eof: bool = True, idle_s: float = 1.0) -> Event | None:
    return await read_event(
        reader_of(raw, eof=eof), max_event_bytes=LIMIT, max_payload_bytes=1000, idle_s=idle_s
    )


async def encoded(event: Event) -> bytes:
    """What the wyoming package itself writes for ``event``."""
    chunks: list[bytes] = []

    class Sink:
        def writelines(self, lines: list[bytes]) -> None:
            chunks.extend(lines)

        def write(self, data: bytes) -> None:
            chunks.append(data)

        async def drain(self) -> None:
            return None

    await async_write_event(event, Sink())  # type: ignore[arg-type]
    return b"".join(chunks)


async def test_reads_what_the_wyoming_package_writes() -> None:
    sent = Event(type="audio-chunk", data={"rate": 16000, "width": 2}, payload=b"\x01\x02" * 10)
    got = await read(await encoded(sent))
    assert got is not None
    assert (got.type, got.data, got.payload) == (sent.type, sent.data, sent.payload)


async def test_inline_and_separate_data_are_merged() -> None:
    header = {"type": "t", "data": {"a": 1}, "data_length": 8}
    got = await read(json.dumps(header).encode() + b"\n" + b'{"b": 2}')
    assert got is not None and got.data == {"a": 1, "b": 2}


async def test_a_clean_end_of_stream_is_none() -> None:
    assert await read(b"") is None
    assert await read(b"  \n"[:0]) is None


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json\n", FramingError),
        (b'"a string"\n', FramingError),
        (b'{"type": ""}\n', FramingError),
        (b'{"type": 3}\n', FramingError),
        (b'{"type": "t", "data": []}\n', FramingError),
        (b'{"type": "t", "data_length": true}\n', FramingError),
        (b'{"type": "t", "data_length": 2.5}\n', FramingError),
        (b'{"type": "t", "data_length": 4}\n"ab"', FramingError),
        (b'{"type": "t", "data_length": 5000}\n', EventTooLarge),
        (b'{"type": "t", "payload_length": 1001}\n', PayloadTooLarge),
        (b"x" * 5000 + b"\n", EventTooLarge),
        (b'{"type": "t", "payload_length": 10}\nabc', TruncatedEvent),
        (b'{"type": "t"', TruncatedEvent),
    ],
)
async def test_refuses_what_it_cannot_trust(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        await read(raw)


async def test_waiting_for_an_event_times_out_without_consuming_anything() -> None:
    reader = reader_of(b'{"type": "par', eof=False)
    with pytest.raises(TimeoutError):
        await read_event(reader, max_event_bytes=LIMIT, max_payload_bytes=10, idle_s=0.05)
    reader.feed_data(b'tial"}\n')
    event = await read_event(reader, max_event_bytes=LIMIT, max_payload_bytes=10, idle_s=1)
    assert event is not None and event.type == "partial"


async def test_a_sender_stalling_mid_payload_is_truncated() -> None:
    with pytest.raises(TruncatedEvent):
        await read(b'{"type": "t", "payload_length": 10}\nabc', eof=False, idle_s=0.05)
