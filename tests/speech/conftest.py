"""Shared fixtures for the speech tests: real recordings, real models, loaded once.

Every model is loaded once per test session through the session's SpeechService, so
the engine fixtures below and the service tests share the same instances.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import av
import jiwer
import numpy as np
import pytest
import pytest_asyncio

from ballsy.config import Settings
from ballsy.speech.audio import decode_audio
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import SpeechToText
from ballsy.speech.tts import TextToSpeech

FIXTURES_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "speech"
FIXTURE_FILES = ("jfk.flac", "english.wav", "french.aiff", "stereo_diarization.wav")

_PUNCTUATION = str.maketrans({ch: " " for ch in string.punctuation + "“”‘’…—–"})
_DIGITS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
           "6": "six", "7": "seven", "8": "eight", "9": "nine"}  # fmt: skip


def normalize_text(text: str) -> str:
    """Lowercase, apostrophes kept inside words, other punctuation dropped, digits spelled."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(?<=\w)'(?=\w)", "\0", text).translate(_PUNCTUATION).replace("\0", "'")
    words = [_DIGITS.get(word, word) for word in text.split()]
    return " ".join(words)


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    missing = [name for name in FIXTURE_FILES if not (FIXTURES_DIR / name).is_file()]
    if not FIXTURES_DIR.is_dir() or missing:
        pytest.fail(f"speech fixtures missing in {FIXTURES_DIR}: {missing or 'whole folder'}")
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def transcripts(fixtures_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures_dir / "transcripts.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def wer() -> Callable[[str, str], float]:
    return word_error_rate


@pytest.fixture(scope="session")
def jfk_audio(fixtures_dir: Path) -> np.ndarray:
    return decode_audio(fixtures_dir / "jfk.flac").samples


@pytest.fixture(scope="session")
def speech_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("speech-data"),
        stt_model="tiny.en",
        stt_compute_type="int8",
        stt_threads=0,
        tts_engine="hibari",
        tts_voice=None,
        inference_workers=2,
        inference_queue_size=16,
        model_idle_ttl=0.0,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def speech_service(speech_settings: Settings) -> AsyncIterator[SpeechService]:
    service = SpeechService(speech_settings)
    await service.start()
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture(scope="session")
def tiny_en(speech_service: SpeechService) -> SpeechToText:
    return speech_service.stt_slot("tiny.en").get()


@pytest.fixture(scope="session")
def whisper_base(speech_service: SpeechService) -> SpeechToText:
    return speech_service.stt_slot("base").get()


@pytest.fixture(scope="session")
def hibari_tts(speech_service: SpeechService) -> TextToSpeech:
    return speech_service.tts_slot("hibari").get()


@pytest.fixture(scope="session")
def piper_tts(speech_service: SpeechService) -> TextToSpeech:
    return speech_service.tts_slot("piper").get()


@pytest.fixture(scope="session")
def write_with_pyav() -> Callable[..., Path]:
    """Write (channels, n) float32 audio at ``source_rate`` to ``path`` as ``rate`` Hz,
    with an explicit container, codec and sample format (what real uploads look like)."""

    def write(
        path: Path,
        samples: np.ndarray,
        source_rate: int,
        *,
        rate: int,
        container: str,
        codec: str,
        sample_format: str,
    ) -> Path:
        planar = np.atleast_2d(samples).astype(np.float32)
        layout = "mono" if planar.shape[0] == 1 else "stereo"
        with av.open(str(path), mode="w", format=container) as output:
            stream = output.add_stream(codec, rate=rate, layout=layout)
            stream.format = sample_format
            frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
            frame.sample_rate = source_rate
            resampler = av.AudioResampler(format=sample_format, layout=layout, rate=rate)
            for converted in [*resampler.resample(frame), *resampler.resample(None)]:
                output.mux(stream.encode(converted))
            output.mux(stream.encode(None))
        return path

    return write
