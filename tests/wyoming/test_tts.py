"""Text-to-speech over Wyoming: plain and streamed, voices, and the user's speed."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
from wyoming.audio import AudioChunk, AudioStart
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from tests.wyoming.conftest import USER, BallsyProcess, read_until

SENTENCES = [
    "The weather today is sunny and warm. ",
    "It should stay that way until the evening, ",
    "when a light breeze comes in from the sea.",
]


def audio_of(events: list) -> tuple[int, np.ndarray]:
    """(rate, int16 samples) of every audio chunk in ``events``."""
    chunks = [AudioChunk.from_event(e) for e in events if e.type == "audio-chunk"]
    assert chunks, [e.type for e in events]
    rates = {chunk.rate for chunk in chunks}
    assert len(rates) == 1 and {(c.width, c.channels) for c in chunks} == {(2, 1)}
    return rates.pop(), np.frombuffer(b"".join(c.audio for c in chunks), dtype="<i2")


async def synthesize(
    server: BallsyProcess, text: str, voice: SynthesizeVoice | None = None
) -> list:
    async with server.client() as client:
        await client.write_event(Synthesize(text=text, voice=voice).event())
        return await read_until(client, "audio-stop")


async def test_synthesize_speaks_in_protocol_sized_chunks(server: BallsyProcess) -> None:
    events = await synthesize(server, "Hello from Ballsy. The kitchen lights are on.")
    types = [event.type for event in events]
    assert types[0] == "audio-start" and types[-1] == "audio-stop"
    assert set(types[1:-1]) == {"audio-chunk"}
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (24_000, 2, 1)  # hibari by default
    sizes = [len(AudioChunk.from_event(e).audio) for e in events[1:-1]]
    assert max(sizes) <= 1024 * 2 and len(sizes) > 10
    rate, samples = audio_of(events)
    assert 1.5 < len(samples) / rate < 8.0
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300  # speech, not silence


async def test_a_voice_by_name_and_by_language(server: BallsyProcess) -> None:
    joe = await synthesize(server, "This is Piper.", SynthesizeVoice(name="joe"))
    assert AudioStart.from_event(joe[0]).rate == 22_050
    by_language = await synthesize(server, "Any English voice.", SynthesizeVoice(language="en-US"))
    assert AudioStart.from_event(by_language[0]).rate in (22_050, 24_000)
    engine = await synthesize(server, "The engine's own voice.", SynthesizeVoice(name="piper"))
    assert AudioStart.from_event(engine[0]).rate == 22_050


async def test_the_users_speed_setting_applies(server: BallsyProcess) -> None:
    text = "Speaking at the speed this user chose in their settings."
    _, normal = audio_of(await synthesize(server, text))
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.put(f"/api/settings?client_id={USER}", json={"speed": 2.0})
        assert response.status_code == 200, response.text
        try:
            _, fast = audio_of(await synthesize(server, text))
        finally:
            await http.put(f"/api/settings?client_id={USER}", json={"speed": None})
    assert len(fast) < len(normal) * 0.75


async def test_streamed_text_is_spoken_before_the_last_chunk_is_sent(
    server: BallsyProcess,
) -> None:
    first_audio = asyncio.Event()
    events: list = []

    async with server.client() as client:

        async def receive() -> None:
            while True:
                event = await client.read_event()
                assert event is not None
                events.append((event, time.perf_counter()))
                if event.type == "audio-chunk":
                    first_audio.set()
                if event.type in ("synthesize-stopped", "error"):
                    return

        receiving = asyncio.create_task(receive())
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="heart")).event())
        for piece in SENTENCES[:-1]:
            for word in piece.split(" "):  # like an LLM: a few characters at a time
                await client.write_event(SynthesizeChunk(text=word + " ").event())
        # The first sentence is complete: its audio must come before the text ends.
        await asyncio.wait_for(first_audio.wait(), timeout=20)
        last_sent = time.perf_counter()
        await client.write_event(SynthesizeChunk(text=SENTENCES[-1]).event())
        # What Home Assistant also sends, for servers without streaming: not spoken twice.
        await client.write_event(Synthesize(text="".join(SENTENCES)).event())
        await client.write_event(SynthesizeStop().event())
        await asyncio.wait_for(receiving, timeout=60)

    types = [event.type for event, _ in events]
    assert types[-1] == "synthesize-stopped", types
    first_chunk_at = next(t for e, t in events if e.type == "audio-chunk")
    assert first_chunk_at < last_sent
    # One audio-start … audio-stop per piece of text spoken: the first clause, the rest.
    assert types.count("audio-start") == types.count("audio-stop") >= 2
    assert types.count("audio-start") <= 4
    rate, samples = audio_of([event for event, _ in events])
    assert 4.0 < len(samples) / rate < 20.0
