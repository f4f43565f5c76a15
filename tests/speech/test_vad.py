"""Silero VAD on real speech and the turn detector built on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ballsy.errors import InvalidInput
from ballsy.speech.stt import SpeechToText, TranscribeOptions
from ballsy.speech.vad import (
    WINDOW_SAMPLES,
    TurnConfig,
    TurnDetector,
    TurnEvent,
    VoiceActivityStream,
    VoiceOffset,
    VoiceOnset,
    shared_vad,
)

RATE = 16_000


@pytest.fixture(scope="module")
def padded_jfk(jfk_audio: np.ndarray) -> np.ndarray:
    """jfk.flac with one second of silence before and after."""
    silence = np.zeros(RATE, dtype=np.float32)
    return np.concatenate([silence, jfk_audio, silence])


def _windows(audio: np.ndarray) -> np.ndarray:
    usable = len(audio) // WINDOW_SAMPLES * WINDOW_SAMPLES
    return audio[:usable]


def test_probability_is_high_on_speech_and_low_on_silence(jfk_audio: np.ndarray) -> None:
    stream = VoiceActivityStream()
    speech = stream.probabilities(_windows(jfk_audio[int(0.5 * RATE) : int(2.0 * RATE)]))
    stream.reset()
    silence = stream.probabilities(np.zeros(RATE - RATE % WINDOW_SAMPLES, dtype=np.float32))
    stream.reset()
    hiss = np.random.default_rng(3).normal(0, 0.003, 32 * WINDOW_SAMPLES).astype(np.float32)
    noise = stream.probabilities(hiss)

    print(f"\nVAD mean p: speech {speech.mean():.2f}, silence {silence.mean():.3f}, "
          f"hiss {noise.mean():.3f}")  # fmt: skip
    assert speech.mean() > 0.6
    assert silence.max() < 0.1
    assert noise.max() < 0.3


def test_single_windows_match_batches(jfk_audio: np.ndarray) -> None:
    audio = _windows(jfk_audio[: 2 * RATE])
    batched = VoiceActivityStream().probabilities(audio)
    one_by_one = VoiceActivityStream()
    singles = [one_by_one.probability(w) for w in audio.reshape(-1, WINDOW_SAMPLES)]
    np.testing.assert_allclose(batched, singles, atol=1e-5)


def test_streams_share_one_model_but_not_state(jfk_audio: np.ndarray) -> None:
    assert shared_vad() is shared_vad()
    speech = _windows(jfk_audio[RATE : 2 * RATE])
    alone = VoiceActivityStream().probabilities(speech)

    a, b = VoiceActivityStream(), VoiceActivityStream()
    b.probabilities(np.zeros(10 * WINDOW_SAMPLES, dtype=np.float32))
    interleaved = []
    for window in speech.reshape(-1, WINDOW_SAMPLES):
        interleaved.append(a.probability(window))
        b.probability(np.zeros(WINDOW_SAMPLES, dtype=np.float32))
    np.testing.assert_allclose(interleaved, alone, atol=1e-5)


def test_window_size_is_checked() -> None:
    with pytest.raises(InvalidInput):
        VoiceActivityStream().probability(np.zeros(480, dtype=np.float32))
    with pytest.raises(InvalidInput):
        VoiceActivityStream().probabilities(np.zeros(1000, dtype=np.float32))


def _feed(detector: TurnDetector, audio: np.ndarray, chunk: int) -> list[TurnEvent]:
    events: list[TurnEvent] = []
    for start in range(0, len(audio), chunk):
        events += detector.feed(audio[start : start + chunk])
    return events + detector.flush()


def test_turn_detector_finds_the_utterance_boundaries(
    padded_jfk: np.ndarray,
    tiny_en: SpeechToText,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    # JFK pauses for ~1.2 s mid-sentence; a 1.5 s end-of-turn silence keeps it one turn.
    detector = TurnDetector(TurnConfig(silence_ms=1500, prefix_padding_ms=300))
    events = _feed(detector, padded_jfk, 1600)

    assert [type(e) for e in events] == [VoiceOnset, VoiceOffset]
    started, stopped = events
    assert isinstance(started, VoiceOnset) and isinstance(stopped, VoiceOffset)
    print(f"\nturn: start {started.at_s:.2f} s, stop {stopped.at_s:.2f} s "
          f"(speech is at 1.0-12.0 s), audio {len(stopped.audio) / RATE:.2f} s")  # fmt: skip
    assert 1.0 <= started.at_s <= 1.6
    assert 10.8 <= stopped.at_s <= 12.1
    assert stopped.started_at_s == started.at_s
    expected = stopped.at_s - started.at_s + 0.3 + 0.3  # prefix + trailing padding
    assert len(stopped.audio) / RATE == pytest.approx(expected, abs=0.05)

    heard = tiny_en.transcribe(stopped.audio, TranscribeOptions())
    assert wer(transcripts["jfk.flac"]["text"], heard.text) <= 0.1


def test_short_end_of_turn_silence_splits_at_pauses(padded_jfk: np.ndarray) -> None:
    events = _feed(TurnDetector(TurnConfig(silence_ms=500)), padded_jfk, 4000)
    starts = [e for e in events if isinstance(e, VoiceOnset)]
    stops = [e for e in events if isinstance(e, VoiceOffset)]
    assert len(starts) == len(stops) >= 2
    assert all(a.at_s < b.at_s for a, b in zip(starts, stops, strict=True))


def test_chunk_size_does_not_change_events(padded_jfk: np.ndarray) -> None:
    config = TurnConfig(silence_ms=700)
    reference = [(type(e), e.at_s) for e in _feed(TurnDetector(config), padded_jfk, 16_000)]
    for chunk in (333, 512, 4097):
        assert [(type(e), e.at_s) for e in _feed(TurnDetector(config), padded_jfk, chunk)] == (
            reference
        )


def test_silence_and_clicks_make_no_turn() -> None:
    audio = np.zeros(3 * RATE, dtype=np.float32)
    audio[RATE : RATE + 40] = 0.9  # a click
    assert _feed(TurnDetector(), audio, 1024) == []


def test_flush_closes_a_turn_in_progress(jfk_audio: np.ndarray) -> None:
    detector = TurnDetector()
    events = detector.feed(jfk_audio[: 2 * RATE])
    assert [type(e) for e in events] == [VoiceOnset]
    assert detector.speaking
    closing = detector.flush()
    assert [type(e) for e in closing] == [VoiceOffset]
    assert not detector.speaking


def test_max_turn_length_bounds_memory(jfk_audio: np.ndarray) -> None:
    detector = TurnDetector(TurnConfig(silence_ms=3000, max_turn_s=2.0))
    events = _feed(detector, jfk_audio, RATE)
    stops = [e for e in events if isinstance(e, VoiceOffset)]
    assert stops
    assert all(e.at_s - e.started_at_s <= 2.05 for e in stops)


def test_config_is_validated() -> None:
    with pytest.raises(InvalidInput):
        TurnConfig(threshold=1.5)
    with pytest.raises(InvalidInput):
        TurnConfig(silence_ms=-1)
