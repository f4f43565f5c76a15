"""Text-to-speech: sentence splitting, and real round trips through hibari and Piper."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from ballsy.errors import InvalidInput, UnknownModel
from ballsy.speech.audio import pcm16_to_float, resample
from ballsy.speech.stt import SpeechToText, TranscribeOptions
from ballsy.speech.tts import TextToSpeech, split_sentences, tts_engines, tts_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world. This is a test.", ["Hello world.", "This is a test."]),
        (
            "Dr. Smith met e.g. Mr. Jones at 3.5 pm. It went well!",
            ["Dr. Smith met e.g. Mr. Jones at 3.5 pm.", "It went well!"],
        ),
        ("It costs $3.50 or 2.75 euros. Fine?", ["It costs $3.50 or 2.75 euros.", "Fine?"]),
        ("J. K. Rowling wrote it. Version 1.2 is out.",
         ["J. K. Rowling wrote it.", "Version 1.2 is out."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what? Really?! Yes.", ["Wait... what?", "Really?!", "Yes."]),
        ("I live in the U.S. and she does too.", ["I live in the U.S. and she does too."]),
        ("first line\nsecond line\n\nthird", ["first line", "second line", "third"]),
        ("  ...  ", []),
        ("", []),
    ],
)  # fmt: skip
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_caps_very_long_sentences() -> None:
    clause = "this clause keeps going on and on without stopping"
    text = ", ".join([clause] * 20) + "."
    pieces = split_sentences(text, max_chars=120)
    assert len(pieces) > 1
    assert all(len(piece) <= 120 for piece in pieces)
    assert " ".join(pieces).replace(" ,", ",") == text


def test_registry_describes_engines_without_loading() -> None:
    engines = tts_engines()
    assert set(engines) >= {"hibari", "piper"}
    assert (engines["hibari"].sample_rate, engines["hibari"].default_voice) == (24_000, "heart")
    assert (engines["piper"].sample_rate, engines["piper"].default_voice) == (22_050, "joe")
    assert "heart" in engines["hibari"].voices()
    assert engines["piper"].voices() == ["joe"]
    with pytest.raises(UnknownModel, match="hibari"):
        tts_spec("espeak")


ROUND_TRIP_TEXT = "The weather is lovely today, so we are going for a walk in the park."


def _speak(engine: TextToSpeech, text: str, speed: float = 1.0) -> np.ndarray:
    chunks = list(engine.synthesize(text, speed=speed))
    assert all(chunk.dtype == np.int16 and chunk.ndim == 1 for chunk in chunks)
    return np.concatenate(chunks)


@pytest.mark.parametrize("engine_name", ["hibari", "piper"])
def test_round_trip_through_speech_recognition(
    engine_name: str,
    request: pytest.FixtureRequest,
    tiny_en: SpeechToText,
    wer: Callable[[str, str], float],
) -> None:
    engine: TextToSpeech = request.getfixturevalue(f"{engine_name}_tts")
    list(engine.synthesize("Warm up."))
    started = time.perf_counter()
    pcm = _speak(engine, ROUND_TRIP_TEXT)
    synth_s = time.perf_counter() - started
    audio_s = len(pcm) / engine.sample_rate

    heard = tiny_en.transcribe(
        resample(pcm16_to_float(pcm), engine.sample_rate, 16_000), TranscribeOptions()
    )
    error = wer(ROUND_TRIP_TEXT, heard.text)
    print(f"\n{engine_name}: {audio_s:.2f} s of audio in {synth_s * 1000:.0f} ms "
          f"({audio_s / synth_s:.1f}x real time); heard WER {error:.1%}: {heard.text}")  # fmt: skip
    assert error <= 0.20
    assert 2.0 < audio_s < 8.0


@pytest.mark.parametrize("engine_name", ["hibari", "piper"])
def test_speed_changes_duration(engine_name: str, request: pytest.FixtureRequest) -> None:
    engine: TextToSpeech = request.getfixturevalue(f"{engine_name}_tts")
    text = "Speed control changes how long this sentence takes to say."
    slow, normal, fast = (len(_speak(engine, text, speed)) for speed in (0.5, 1.0, 2.0))
    print(f"\n{engine_name} samples at 0.5x/1x/2x: {slow}/{normal}/{fast}")
    assert slow > normal * 1.4
    assert fast < normal * 0.75


@pytest.mark.parametrize("engine_name", ["hibari", "piper"])
def test_one_chunk_per_sentence(engine_name: str, request: pytest.FixtureRequest) -> None:
    engine: TextToSpeech = request.getfixturevalue(f"{engine_name}_tts")
    text = "First sentence here. Dr. Brown has the second one! And is this the third?"
    chunks = list(engine.synthesize(text))
    assert len(chunks) == 3
    assert all(len(chunk) > engine.sample_rate * 0.4 for chunk in chunks)


@pytest.mark.parametrize("engine_name", ["hibari", "piper"])
def test_engines_refuse_bad_requests(engine_name: str, request: pytest.FixtureRequest) -> None:
    engine: TextToSpeech = request.getfixturevalue(f"{engine_name}_tts")
    assert engine.default_voice in engine.voices()
    with pytest.raises(UnknownModel):
        list(engine.synthesize("Hello.", voice="nobody"))
    for speed in (0.1, 4.5):
        with pytest.raises(InvalidInput):
            list(engine.synthesize("Hello.", speed=speed))
    assert list(engine.synthesize("   ")) == []


def test_synthesis_is_lazy(hibari_tts: TextToSpeech) -> None:
    """Nothing is synthesized until the consumer asks for the next sentence."""
    text = " ".join(f"Sentence number {n} is here." for n in range(30))
    started = time.perf_counter()
    chunks = hibari_tts.synthesize(text)
    first = next(chunks)
    first_s = time.perf_counter() - started
    rest = list(chunks)
    total_s = time.perf_counter() - started
    print(f"\nhibari first of 30 sentences after {first_s * 1000:.0f} ms, all in {total_s:.2f} s")
    assert len(rest) == 29 and len(first) > 0
    assert first_s < total_s / 5
