"""faster-whisper engines on real recordings: accuracy, languages, timestamps, refusals."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ballsy.errors import InvalidInput
from ballsy.speech.audio import decode_audio, decode_channels
from ballsy.speech.model_files import whisper_base_dir
from ballsy.speech.stt import SpeechToText, TranscribeOptions, stt_spec


def test_tiny_en_transcribes_jfk(
    tiny_en: SpeechToText,
    jfk_audio: np.ndarray,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    started = time.perf_counter()
    transcript = tiny_en.transcribe(jfk_audio, TranscribeOptions())
    elapsed = time.perf_counter() - started

    error = wer(transcripts["jfk.flac"]["text"], transcript.text)
    print(f"\ntiny.en jfk.flac (11 s): {elapsed:.2f} s, WER {error:.1%}: {transcript.text}")
    assert error <= 0.10
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(11.0, abs=0.01)
    assert transcript.segments
    assert transcript.text == " ".join(s.text for s in transcript.segments)


def test_tiny_en_hears_one_two_three(
    tiny_en: SpeechToText, fixtures_dir: Path, wer: Callable[[str, str], float]
) -> None:
    audio = decode_audio(fixtures_dir / "english.wav").samples
    started = time.perf_counter()
    transcript = tiny_en.transcribe(audio, TranscribeOptions())
    print(
        f"\ntiny.en english.wav (2.7 s): {time.perf_counter() - started:.2f} s: {transcript.text}"
    )
    assert wer("one two three", transcript.text) == 0.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_each_stereo_channel_is_its_own_speaker(
    side: str,
    tiny_en: SpeechToText,
    fixtures_dir: Path,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    left, right = decode_channels(fixtures_dir / "stereo_diarization.wav").channels
    audio = left if side == "left" else right
    transcript = tiny_en.transcribe(audio, TranscribeOptions())
    reference = transcripts["stereo_diarization.wav"]["channels"][side]
    assert wer(reference, transcript.text) <= 0.35, transcript.text


def test_word_timestamps_are_monotonic_and_inside_the_audio(
    tiny_en: SpeechToText, jfk_audio: np.ndarray
) -> None:
    transcript = tiny_en.transcribe(jfk_audio, TranscribeOptions(word_timestamps=True))
    words = [w for segment in transcript.segments for w in segment.words]

    assert len(words) >= 20
    previous_end = 0.0
    for word in words:
        assert 0.0 <= word.start <= word.end <= transcript.duration + 0.05
        assert word.start >= previous_end - 0.01
        assert 0.0 <= word.probability <= 1.0
        previous_end = word.end
    for segment in transcript.segments:
        assert segment.words[0].start >= segment.start - 0.05
        assert segment.words[-1].end <= segment.end + 0.05
    spoken = "".join(w.word for w in words).lower()
    assert "country" in spoken


def test_no_words_unless_asked(tiny_en: SpeechToText, fixtures_dir: Path) -> None:
    audio = decode_audio(fixtures_dir / "english.wav").samples
    transcript = tiny_en.transcribe(audio, TranscribeOptions())
    assert all(segment.words == () for segment in transcript.segments)


@pytest.mark.parametrize("vad_filter", [True, False])
def test_silence_gives_an_empty_transcript(tiny_en: SpeechToText, vad_filter: bool) -> None:
    silence = np.zeros(3 * 16_000, dtype=np.float32)
    transcript = tiny_en.transcribe(silence, TranscribeOptions(vad_filter=vad_filter))
    assert len(transcript.text.split()) <= 2, transcript.text
    assert transcript.duration == pytest.approx(3.0)


def test_empty_audio_gives_an_empty_transcript(tiny_en: SpeechToText) -> None:
    transcript = tiny_en.transcribe(np.zeros(0, dtype=np.float32), TranscribeOptions())
    assert transcript.text == "" and transcript.segments == ()


def test_int16_input_is_accepted_and_2d_refused(
    tiny_en: SpeechToText, fixtures_dir: Path, wer: Callable[[str, str], float]
) -> None:
    audio = decode_audio(fixtures_dir / "english.wav").samples
    pcm = np.round(audio * 32767).astype(np.int16)
    assert wer("one two three", tiny_en.transcribe(pcm, TranscribeOptions()).text) == 0.0
    with pytest.raises(InvalidInput):
        tiny_en.transcribe(np.stack([audio, audio]), TranscribeOptions())


def test_segments_stream_matches_transcribe(tiny_en: SpeechToText, jfk_audio: np.ndarray) -> None:
    stream = tiny_en.iter_segments(jfk_audio, TranscribeOptions())
    assert stream.language == "en"
    assert stream.duration == pytest.approx(11.0, abs=0.01)
    streamed = list(stream)
    assert streamed == list(tiny_en.transcribe(jfk_audio, TranscribeOptions()).segments)


@pytest.mark.parametrize(
    "options",
    [TranscribeOptions(task="translate"), TranscribeOptions(language="fr")],
    ids=["translate", "french"],
)
def test_tiny_en_refuses_what_it_cannot_do(
    options: TranscribeOptions, tiny_en: SpeechToText, jfk_audio: np.ndarray
) -> None:
    with pytest.raises(InvalidInput, match="base"):
        tiny_en.transcribe(jfk_audio, options)
    with pytest.raises(InvalidInput):
        stt_spec("tiny.en").check(options)
    stt_spec("base").check(options)  # the multilingual model accepts both


def test_options_are_validated() -> None:
    with pytest.raises(InvalidInput):
        TranscribeOptions(temperature=1.5)
    with pytest.raises(InvalidInput):
        TranscribeOptions(beam_size=0)


def test_base_detects_french(
    whisper_base: SpeechToText,
    fixtures_dir: Path,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
) -> None:
    audio = decode_audio(fixtures_dir / "french.aiff").samples
    started = time.perf_counter()
    transcript = whisper_base.transcribe(audio, TranscribeOptions())
    elapsed = time.perf_counter() - started

    print(f"\nbase french.aiff (2.5 s): {elapsed:.2f} s, {transcript.language} "
          f"p={transcript.language_probability:.2f}: {transcript.text}")  # fmt: skip
    assert transcript.language == "fr"
    assert transcript.language_probability > 0.8
    reference = transcripts["french.aiff"]["text"]
    assert wer(reference, transcript.text.replace("1", "un")) <= 0.2


def test_base_translates_french_to_english(whisper_base: SpeechToText, fixtures_dir: Path) -> None:
    audio = decode_audio(fixtures_dir / "french.aiff").samples
    transcript = whisper_base.transcribe(audio, TranscribeOptions(task="translate"))

    print(f"\nbase translate french.aiff: {transcript.text}")
    words = set(transcript.text.lower().replace(".", " ").split())
    assert words & {"dictation", "number", "the", "is"}, transcript.text
    assert "dictée" not in transcript.text.lower()


def test_base_honours_a_given_language(whisper_base: SpeechToText, jfk_audio: np.ndarray) -> None:
    transcript = whisper_base.transcribe(jfk_audio[: 5 * 16_000], TranscribeOptions(language="en"))
    assert transcript.language == "en"
    assert "fellow americans" in transcript.text.lower()
    with pytest.raises(InvalidInput):
        whisper_base.transcribe(jfk_audio, TranscribeOptions(language="xx"))


def test_base_model_is_joined_once_verified_and_repaired(tmp_path: Path) -> None:
    started = time.perf_counter()
    folder = whisper_base_dir(tmp_path)
    joined_s = time.perf_counter() - started
    manifest = json.loads((folder / "ballsy-manifest.json").read_text())
    model = folder / "model.bin"
    assert model.stat().st_size == manifest["files"]["model.bin"]["size"] == 145_217_532
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp")) == []

    mtime = model.stat().st_mtime_ns
    started = time.perf_counter()
    assert whisper_base_dir(tmp_path) == folder
    reused_s = time.perf_counter() - started
    assert model.stat().st_mtime_ns == mtime, "a valid cache must not be rewritten"

    # Same size, corrupt bytes: the sha256 check catches it and the file is rebuilt.
    with model.open("r+b") as handle:
        handle.seek(1_000_000)
        handle.write(b"\xff" * 64)
    whisper_base_dir(tmp_path)
    rebuilt = json.loads((folder / "ballsy-manifest.json").read_text())
    assert rebuilt == manifest
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == manifest["files"]["model.bin"]["sha256"]
    print(f"\nwhisper-base join {joined_s:.2f} s, verified reuse {reused_s:.2f} s")
