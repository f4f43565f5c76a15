"""Every kind of bad input: an ``error`` event or a clean close, never a crash.

After each case the server must still answer a fresh ``describe``; the last test
checks that nothing was logged as an unhandled failure.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event
from wyoming.info import Describe
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from tests.wyoming.conftest import BallsyProcess, raw_connection, read_until

PCM = {"rate": 16_000, "width": 2, "channels": 1}


async def still_serving(server: BallsyProcess) -> None:
    async with server.client(read_timeout=10) as client:
        await client.write_event(Describe().event())
        assert (await read_until(client, "info"))[-1].type == "info"


async def error_then_close(server: BallsyProcess, raw: bytes) -> Error:
    """Send ``raw`` bytes; expect one error event, then the server closes."""
    async with raw_connection(server.wyoming_port) as (reader, writer):
        writer.write(raw)
        await writer.drain()
        event = await asyncio.wait_for(async_read_event(reader), 10)
        assert event is not None and event.type == "error", event
        try:
            rest = await asyncio.wait_for(reader.read(), 10)
        except ConnectionResetError:  # closed with some of our bytes unread: also a close
            rest = b""
        assert rest == b"", "the server must close"
    await still_serving(server)
    return Error.from_event(event)


async def error_for(server: BallsyProcess, *events: Event) -> Error:
    """Send ``events`` with the wyoming client; expect an error, then a working connection."""
    async with server.client(read_timeout=20) as client:
        for event in events:
            await client.write_event(event)
        answer = await read_until(client, "error")
        await client.write_event(Describe().event())
        assert (await read_until(client, "info"))[-1].type == "info", "connection must go on"
    return Error.from_event(answer[-1])


# --- framing: error and close ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{this is not json\n", "malformed_event"),
        (b"[1, 2, 3]\n", "malformed_event"),
        (b'{"data": {}}\n', "malformed_event"),
        (b'{"type": "describe", "data": 5}\n', "malformed_event"),
        (b'{"type": "describe", "data_length": -1}\n', "malformed_event"),
        (b'{"type": "describe", "payload_length": "lots"}\n', "malformed_event"),
        (b'{"type": "describe", "data_length": 2}\n[]', "malformed_event"),
        (b'{"type": "describe", "data_length": 1000000}\n', "event_too_large"),
        (b'{"type": "audio-chunk", "payload_length": 100000000}\n', "payload_too_large"),
        (b"\xff\xfe\x00garbage\n", "malformed_event"),
        (b'{"type": "' + b"x" * 20_000 + b'"}\n', "event_too_large"),
        (b"y" * 20_000, "event_too_large"),  # no newline at all
    ],
)
async def test_bytes_that_are_not_wyoming_get_an_error_and_a_close(
    server: BallsyProcess, raw: bytes, code: str
) -> None:
    assert (await error_then_close(server, raw)).code == code


async def test_an_abrupt_disconnect_mid_event_or_mid_stream_harms_nothing(
    server: BallsyProcess,
) -> None:
    async with raw_connection(server.wyoming_port) as (_, writer):
        header = {"type": "audio-chunk", "data": PCM, "payload_length": 32_000}
        writer.write(json.dumps(header).encode() + b"\n" + b"\x00" * 100)
        await writer.drain()
    async with server.client() as client:  # mid-transcription
        await client.write_event(Transcribe().event())
        await client.write_event(AudioStart(**PCM).event())
        for _ in range(20):
            await client.write_event(AudioChunk(audio=b"\x01\x00" * 1600, **PCM).event())
    async with server.client() as client:  # mid-synthesis, not reading the audio
        await client.write_event(Synthesize(text="A long answer. " * 30).event())
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    await still_serving(server)


async def test_an_idle_connection_is_closed(server: BallsyProcess) -> None:
    async with raw_connection(server.wyoming_port) as (reader, _):
        assert await asyncio.wait_for(reader.read(), 15) == b""  # WYOMING_IDLE_TIMEOUT=4


async def test_too_many_errors_close_the_connection(server: BallsyProcess) -> None:
    async with server.client(read_timeout=10) as client:
        for _ in range(20):  # exactly the limit: nothing is left unread at the close
            await client.write_event(Event(type="no-such-event"))
        codes = []
        while (event := await client.read_event()) is not None:
            codes.append(Error.from_event(event).code)
    assert codes[-1] == "too_many_errors" and codes.count("unknown_event") == 20


# --- events: an error, and the connection goes on -----------------------------------------


async def test_unknown_and_ill_formed_events(server: BallsyProcess) -> None:
    assert (await error_for(server, Event(type="detect"))).code == "unknown_event"
    assert (await error_for(server, Event(type="synthesize", data={}))).code == "invalid_event"
    bad_text = Event(type="synthesize", data={"text": 42})
    assert (await error_for(server, bad_text)).code == "invalid_event"
    bad_name = Event(type="transcribe", data={"name": ["tiny.en"]})
    assert (await error_for(server, bad_name)).code == "invalid_event"
    no_text = Event(type="transcript", data={})
    assert (await error_for(server, no_text)).code == "invalid_event"
    assert (await error_for(server, Event("select-program", {"name": "x"}))).code == (
        "unexpected_event"
    )


async def test_audio_out_of_order(server: BallsyProcess) -> None:
    chunk = AudioChunk(audio=b"\x00\x00" * 320, **PCM).event()
    error = await error_for(server, chunk, chunk, chunk, AudioStop().event())
    assert error.code == "unexpected_event"  # once, then the stray stream is skipped
    assert (await error_for(server, AudioStop().event())).code == "unexpected_event"
    twice = await error_for(server, AudioStart(**PCM).event(), AudioStart(**PCM).event())
    assert twice.code == "unexpected_event"


@pytest.mark.parametrize(
    "data",
    [
        {"rate": 1000, "width": 2, "channels": 1},
        {"rate": 16_000, "width": 5, "channels": 1},
        {"rate": 16_000, "width": 2, "channels": 0},
        {"rate": "16000", "width": 2, "channels": 1},
        {"width": 2, "channels": 1},
    ],
)
async def test_unsupported_audio_formats(server: BallsyProcess, data: dict) -> None:
    start = Event(type="audio-start", data=data)
    chunk = Event(type="audio-chunk", data=data, payload=b"\x00" * 640)
    error = await error_for(server, start, chunk, AudioStop().event())
    assert error.code == "unsupported_audio"


async def test_audio_that_is_not_whole_frames(server: BallsyProcess) -> None:
    stereo = {"rate": 16_000, "width": 2, "channels": 2}
    odd = AudioChunk(audio=b"\x00" * 642, **stereo).event()
    error = await error_for(server, AudioStart(**stereo).event(), odd, AudioStop().event())
    assert error.code == "unsupported_audio"


async def test_audio_longer_than_the_limit(server: BallsyProcess) -> None:
    small = {"rate": 8_000, "width": 1, "channels": 1}  # 31 s in one 248 kB chunk
    chunk = AudioChunk(audio=b"\x80" * 8_000 * 31, **small).event()
    error = await error_for(server, AudioStart(**small).event(), chunk, AudioStop().event())
    assert error.code == "audio_too_long"  # WYOMING_MAX_AUDIO_SECONDS=30


async def test_unknown_model_or_language(server: BallsyProcess) -> None:
    assert (await error_for(server, Transcribe(name="large-v9").event())).code == "unknown_model"
    assert (await error_for(server, Transcribe(language="xx").event())).code == "unknown_model"
    english_only = Transcribe(name="tiny.en", language="de").event()
    assert (await error_for(server, english_only)).code == "unknown_model"


async def test_bad_synthesis_requests(server: BallsyProcess) -> None:
    assert (await error_for(server, Synthesize(text="   ").event())).code == "invalid_input"
    assert (await error_for(server, Synthesize(text="word " * 200).event())).code == (
        "text_too_long"
    )
    unknown = Synthesize(text="Hi.", voice=SynthesizeVoice(name="nobody")).event()
    assert (await error_for(server, unknown)).code == "unknown_model"
    french = Synthesize(text="Salut.", voice=SynthesizeVoice(language="fr")).event()
    assert (await error_for(server, french)).code == "unknown_model"
    ssml = Synthesize(text="<speak>Hi</speak>", text_format="ssml").event()
    assert (await error_for(server, ssml)).code == "invalid_input"
    stray = SynthesizeChunk(text="hello").event()
    assert (await error_for(server, stray, SynthesizeStop().event())).code == "unexpected_event"


async def test_a_streamed_text_over_the_limit_is_cut_off(server: BallsyProcess) -> None:
    events = [SynthesizeStart().event()]
    events += [SynthesizeChunk(text="More words without an end " * 4).event() for _ in range(8)]
    events += [SynthesizeStop().event()]
    assert (await error_for(server, *events)).code == "text_too_long"


async def test_bad_handle_requests(server: BallsyProcess) -> None:
    assert (await error_for(server, Transcript(text="").event())).code == "invalid_input"
    assert (await error_for(server, Transcript(text="why " * 200).event())).code == (
        "text_too_long"
    )


async def test_concurrent_requests_on_one_connection_are_limited(server: BallsyProcess) -> None:
    speech = np.zeros(1600, dtype="<i2").tobytes()
    async with server.client(read_timeout=30) as client:
        await client.write_event(AudioStart(**PCM).event())  # stream 1
        await client.write_event(AudioChunk(audio=speech, **PCM).event())
        await client.write_event(SynthesizeStart().event())  # stream 2
        await client.write_event(Synthesize(text="A third request.").event())  # the compat copy
        await client.write_event(Transcript(text="what is two plus two").event())  # 3: refused
        error = Error.from_event((await read_until(client, "error"))[-1])
        assert error.code == "too_many_streams"
        await client.write_event(SynthesizeStop().event())
        await client.write_event(AudioStop().event())
        types = [e.type for e in await read_until(client, "transcript-stop")]
        assert "synthesize-stopped" in types or "transcript" in types


async def test_too_many_connections_are_refused(server: BallsyProcess) -> None:
    await asyncio.sleep(0.5)  # earlier tests' connections are gone
    opened = []
    try:
        for _ in range(6):  # WYOMING_MAX_CONNECTIONS=6
            client = server.client(read_timeout=10)
            await client.connect()
            await client.write_event(Describe().event())
            await read_until(client, "info")
            opened.append(client)
        extra = server.client(read_timeout=10)
        await extra.connect()
        event = await extra.read_event()
        assert event is not None and Error.from_event(event).code == "busy"
        assert await extra.read_event() is None
        await extra.disconnect()
    finally:
        for client in opened:
            await client.disconnect()
    await asyncio.sleep(0.2)
    await still_serving(server)


async def test_nothing_crashed(server: BallsyProcess) -> None:
    await still_serving(server)
    assert server.process.poll() is None
    failures = [e for e in server.log_events() if e.get("severity") in ("ERROR", "CRITICAL")]
    assert not failures, failures[:3]
