"""Speech-to-text over Wyoming, against a real Ballsy process and real recordings."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk

from ballsy.speech.audio import float_to_pcm16
from tests.wyoming.conftest import (
    BallsyProcess,
    Clip,
    native_jfk,
    references,
    send_audio,
    speech,
    word_error_rate,
)


async def transcribe(
    server: BallsyProcess,
    clip: Clip,
    *,
    chunk_ms: int = 100,
    realtime: bool = False,
    **request: str,
) -> tuple[list, list[float], float]:
    """(events, arrival time of each, audio-stop sent at) for one transcription."""
    async with server.client() as client:
        await client.write_event(Transcribe(**request).event())
        sending = asyncio.create_task(
            send_audio(client, clip, chunk_ms=chunk_ms, realtime=realtime)
        )
        events, times = [], []
        while True:
            event = await client.read_event()
            assert event is not None
            events.append(event)
            times.append(time.perf_counter())
            if event.type in ("transcript-stop", "error"):
                break
        stop_sent = await sending
    return events, times, stop_sent


def final_text(events: list) -> str:
    (final,) = [e for e in events if e.type == "transcript"]
    return Transcript.from_event(final).text


async def test_jfk_at_its_own_rate_width_and_channels(server: BallsyProcess) -> None:
    clip = native_jfk()  # 44.1 kHz stereo 24-bit, resampled and mixed down by the server
    events, _, _ = await transcribe(server, clip, language="en")
    types = [event.type for event in events]
    assert "error" not in types, events[-1].data
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"]
    assert Transcript.from_event(events[-2]).language == "en"
    assert word_error_rate(references()["jfk.flac"], final_text(events)) <= 0.10


async def test_english_streamed_in_20ms_chunks_like_a_microphone(server: BallsyProcess) -> None:
    pcm = float_to_pcm16(speech("english.wav")).tobytes()
    events, _, _ = await transcribe(server, Clip(pcm, 16_000), chunk_ms=20, realtime=True)
    assert word_error_rate(references()["english.wav"], final_text(events)) <= 0.10


async def test_chunks_arrive_while_a_long_recording_is_still_being_sent(
    server: BallsyProcess,
) -> None:
    pause = np.zeros(16_000, dtype=np.float32)
    recording = np.concatenate([speech("jfk.flac"), pause, speech("english.wav")])
    reference = f"{references()['jfk.flac']} {references()['english.wav']}"
    clip = Clip(float_to_pcm16(recording).tobytes(), 16_000)
    # Sent like a live microphone: socket buffers would swallow a faster sender whole.
    events, times, stop_sent = await transcribe(server, clip, chunk_ms=20, realtime=True)

    chunks = [(e, t) for e, t in zip(events, times, strict=True) if e.type == "transcript-chunk"]
    early = [e for e, t in chunks if t < stop_sent]
    assert len(early) >= 2, "transcript chunks must stream while audio is still arriving"
    streamed = "".join(TranscriptChunk.from_event(e).text for e, _ in chunks)
    assert word_error_rate(reference, streamed) <= 0.35  # the preview
    assert word_error_rate(reference, final_text(events)) <= 0.10  # the record


async def test_silence_is_an_empty_transcript(server: BallsyProcess) -> None:
    quiet = (np.random.default_rng(0).normal(0, 30, 16_000 * 2)).astype("<i2").tobytes()
    events, _, _ = await transcribe(server, Clip(quiet, 16_000))
    assert final_text(events) == ""


async def test_the_multilingual_model_is_chosen_by_language(server: BallsyProcess) -> None:
    pcm = float_to_pcm16(speech("french.aiff")).tobytes()
    events, _, _ = await transcribe(server, Clip(pcm, 16_000), language="fr-FR")
    assert events[-1].type == "transcript-stop", events[-1].data
    final = Transcript.from_event(events[-2])
    assert final.language == "fr"
    assert "dictée" in final.text.lower() or "dicté" in final.text.lower()
