"""SpeechService, the facade the HTTP and realtime layers call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ballsy.config import Settings
from ballsy.errors import AudioTooLong, InvalidInput, UnknownModel, UnsupportedMedia
from ballsy.speech.audio import pcm16_to_float, resample
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import TranscribeOptions


def test_catalogue(speech_service: SpeechService) -> None:
    assert speech_service.stt_models() == ["tiny.en", "base"]
    assert speech_service.tts_engines() == ["hibari", "piper"]
    assert "heart" in speech_service.tts_voices()
    assert speech_service.tts_voices("piper") == ["joe"]
    assert speech_service.sample_rate_for() == 24_000
    assert speech_service.sample_rate_for("piper") == 22_050
    assert speech_service.default_voice("piper") == "joe"
    with pytest.raises(UnknownModel):
        speech_service.sample_rate_for("festival")


async def test_transcribe_with_the_default_model(
    speech_service: SpeechService,
    fixtures_dir: Path,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    decoded = await speech_service.decode((fixtures_dir / "jfk.flac").read_bytes())
    transcript = await speech_service.transcribe(decoded.samples)
    assert wer(transcripts["jfk.flac"]["text"], transcript.text) <= 0.1
    assert "stt:tiny.en" in speech_service.loaded_models()


async def test_unknown_model_lists_the_valid_ones(
    speech_service: SpeechService, jfk_audio: np.ndarray
) -> None:
    with pytest.raises(UnknownModel) as info:
        await speech_service.transcribe(jfk_audio, model="whisper-large")
    assert "tiny.en" in info.value.message and "base" in info.value.message
    assert info.value.detail["available"] == ["base", "tiny.en"]


async def test_english_only_model_refuses_translation_before_any_work(
    speech_service: SpeechService, jfk_audio: np.ndarray
) -> None:
    with pytest.raises(InvalidInput, match="English-only"):
        await speech_service.transcribe(jfk_audio, TranscribeOptions(task="translate"))
    assert speech_service.runtime.in_flight == 0


async def test_concurrent_requests_share_one_model(
    speech_service: SpeechService, fixtures_dir: Path
) -> None:
    decoded = await speech_service.decode(fixtures_dir / "english.wav")
    results = await asyncio.gather(*(speech_service.transcribe(decoded.samples) for _ in range(4)))
    assert len({r.text for r in results}) == 1
    assert speech_service.stt_slot("tiny.en").load_count == 1


async def test_decode_applies_the_duration_setting(
    speech_service: SpeechService, fixtures_dir: Path
) -> None:
    with pytest.raises(AudioTooLong):
        await speech_service.decode(fixtures_dir / "jfk.flac", max_seconds=3)
    with pytest.raises(UnsupportedMedia):
        await speech_service.decode(b"not audio at all" * 100)


async def test_segments_stream(speech_service: SpeechService, jfk_audio: np.ndarray) -> None:
    segments = await speech_service.iter_segments(jfk_audio)
    texts = [segment.text async for segment in segments]
    assert texts and "country" in " ".join(texts).lower()


@pytest.mark.parametrize("engine", ["hibari", "piper"])
async def test_synthesis_streams_one_chunk_per_sentence(
    speech_service: SpeechService, engine: str
) -> None:
    text = "Here is the first sentence. Here is the second one. And a third, to finish."
    await speech_service.runtime.run(speech_service.tts_slot(engine).get)  # time warm replies
    started = time.perf_counter()
    chunks = await speech_service.synthesize(text, engine=engine)
    received = []
    first_chunk_s = None
    async for chunk in chunks:
        first_chunk_s = first_chunk_s or time.perf_counter() - started
        received.append(chunk)
    total_s = time.perf_counter() - started
    print(f"\n{engine}: first chunk after {first_chunk_s * 1000:.0f} ms, "
          f"3 sentences in {total_s * 1000:.0f} ms")  # fmt: skip
    assert len(received) == 3
    assert all(chunk.dtype == np.int16 for chunk in received)
    assert f"tts:{engine}" in speech_service.loaded_models()


async def test_synthesized_speech_is_understood(
    speech_service: SpeechService, wer: Callable[[str, str], float]
) -> None:
    text = "Please remind me to call my sister tomorrow morning."
    chunks = await speech_service.synthesize(text, speed=1.25)
    pcm = np.concatenate([chunk async for chunk in chunks])
    audio = resample(pcm16_to_float(pcm), speech_service.sample_rate_for(), 16_000)
    heard = await speech_service.transcribe(audio)
    assert wer(text, heard.text) <= 0.2, heard.text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"speed": 0.2}, InvalidInput),
        ({"speed": 4.01}, InvalidInput),
        ({"engine": "espeak"}, UnknownModel),
        ({"voice": "nobody"}, UnknownModel),
        ({"text": "   "}, InvalidInput),
        ({"text": "!!! ..."}, InvalidInput),
        ({"text": "word " * 2000}, InvalidInput),
    ],
)
async def test_synthesis_requests_are_validated_up_front(
    speech_service: SpeechService, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    text = kwargs.pop("text", "Hello there.")
    with pytest.raises(error):
        await speech_service.synthesize(text, **kwargs)


async def test_idle_models_are_unloaded_and_close_releases_everything(
    speech_settings: Settings,
) -> None:
    settings = speech_settings.model_copy(update={"model_idle_ttl": 1.0})
    service = SpeechService(settings)
    await service.start()
    chunks = await service.synthesize("Short lived.")
    assert [len(c) > 0 async for c in chunks] == [True]
    assert service.loaded_models() == ["tts:hibari"]
    deadline = time.monotonic() + 5
    while service.loaded_models():
        assert time.monotonic() < deadline, "the idle model was never unloaded"
        await asyncio.sleep(0.05)

    await service.preload()
    assert service.loaded_models() == ["stt:tiny.en", "tts:hibari"]
    await service.close()
    assert service.loaded_models() == []
    assert service.runtime.closed
