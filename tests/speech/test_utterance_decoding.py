"""How a voice turn is decoded: beam search while short, greedy beyond, the vocabulary
prompt and the temperature fallback (REALTIME_STT_* settings; benchmarks/stt_short.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.realtime.session.adapters import SpeechTranscriber
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import (
    FALLBACK_TEMPERATURES,
    STT_SAMPLE_RATE,
    SpeechToText,
    TranscribeOptions,
    UtteranceDecoding,
)


def test_short_utterances_get_the_beam_long_ones_greedy() -> None:
    decoding = UtteranceDecoding(beam_size=5, beam_max_seconds=15.0, prompt="Set a timer.")
    short, edge, long = decoding.options(2.0), decoding.options(15.0), decoding.options(15.1)
    assert (short.beam_size, edge.beam_size, long.beam_size) == (5, 5, 1)
    for options in (short, long):
        assert options.prompt == "Set a timer."
        assert not options.vad_filter  # live audio is already cut by the turn detector


def test_decoding_follows_the_settings() -> None:
    settings = Settings(
        realtime_stt_beam_size=3,
        realtime_stt_beam_max_seconds=8,
        realtime_stt_prompt="",
        realtime_stt_fallback_temperatures="0.4, 0.8",  # type: ignore[arg-type]
    )
    decoding = UtteranceDecoding.from_settings(settings)
    assert decoding == UtteranceDecoding(
        beam_size=3, beam_max_seconds=8.0, prompt=None, fallback_temperatures=(0.4, 0.8)
    )
    off = Settings(realtime_stt_fallback_temperatures="")  # type: ignore[arg-type]
    assert UtteranceDecoding.from_settings(off).options(1.0).fallback_temperatures == ()


def test_default_decoding_is_the_measured_one() -> None:
    options = UtteranceDecoding.from_settings(Settings()).options(3.0)
    assert options.beam_size == Settings().realtime_stt_beam_size
    assert TranscribeOptions().fallback_temperatures == FALLBACK_TEMPERATURES


def test_fallback_temperatures_are_validated() -> None:
    with pytest.raises(InvalidInput):
        TranscribeOptions(fallback_temperatures=(0.0,))
    with pytest.raises(InvalidInput):
        TranscribeOptions(fallback_temperatures=(0.5, 1.5))


@pytest.mark.slow
def test_whisper_honours_the_decode_options(
    tiny_en: SpeechToText,
    jfk_audio: np.ndarray,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    options = TranscribeOptions(beam_size=5, fallback_temperatures=(), timestamps=False)
    transcript = tiny_en.transcribe(jfk_audio, options)
    assert len(transcript.segments) == 1  # no timestamps: the window is one segment
    assert all(segment.temperature == 0.0 for segment in transcript.segments)
    assert wer(transcripts["jfk.flac"]["text"], transcript.text) < 0.15


@pytest.mark.slow
async def test_realtime_transcriber_picks_the_decode_by_length(
    speech_service: SpeechService,
    jfk_audio: np.ndarray,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[TranscribeOptions] = []
    transcribe = speech_service.transcribe

    async def spy(audio: Any, options: TranscribeOptions, *args: Any, **kwargs: Any) -> Any:
        seen.append(options)
        return await transcribe(audio, options, *args, **kwargs)

    monkeypatch.setattr(speech_service, "transcribe", spy)
    # No temperature fallback: the same sentence twice in one window has the
    # compression ratio of a hallucination loop, and the fallback's sampling would
    # make the long decode (and this test) random.
    decoding = UtteranceDecoding(beam_size=5, fallback_temperatures=())
    transcriber = SpeechTranscriber(speech_service, decoding)
    reference = transcripts["jfk.flac"]["text"]

    short = await transcriber.transcribe(jfk_audio)  # 11 s: one question's worth
    pause = np.zeros(STT_SAMPLE_RATE, dtype=np.float32)
    long = await transcriber.transcribe(np.concatenate([jfk_audio, pause, jfk_audio]))  # 23 s

    assert [options.beam_size for options in seen] == [5, 1]
    assert wer(reference, short.text) < 0.2
    assert wer(f"{reference} {reference}", long.text) < 0.2
    assert short.seconds > 0
