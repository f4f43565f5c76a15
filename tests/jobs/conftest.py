"""Fixtures for the job tests: speech recordings of a chosen length, job settings.

Recordings are the shared fixture clips (real human speech) with pauses between them,
repeated to the length a test needs, written as 16 kHz WAV.
"""

from __future__ import annotations

import json
import uuid
import wave
from pathlib import Path

import numpy as np
import pytest

from ballsy.config import Settings
from ballsy.speech.audio import decode_audio, decode_channels, float_to_pcm16
from tests.conftest import FIXTURES, make_settings

RATE = 16_000


def english_clips() -> list[tuple[np.ndarray, str]]:
    refs = json.loads((FIXTURES / "transcripts.json").read_text())
    clips = [
        (decode_audio(FIXTURES / "jfk.flac").samples, refs["jfk.flac"]["text"]),
        (decode_audio(FIXTURES / "english.wav").samples, refs["english.wav"]["text"]),
    ]
    stereo = decode_channels(FIXTURES / "stereo_diarization.wav")
    for channel, side in zip(stereo.channels, ("left", "right"), strict=True):
        clips.append((channel, refs["stereo_diarization.wav"]["channels"][side]))
    return clips


def speech_wav(path: Path, seconds: float, pause: float = 1.2) -> tuple[Path, str]:
    """A WAV of at least ``seconds`` of real speech with pauses; (path, reference text)."""
    silence = np.zeros(int(pause * RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    words: list[str] = []
    total = 0
    clips = english_clips()
    while total < seconds * RATE:
        samples, text = clips[len(words) % len(clips)]
        parts += [samples, silence]
        words.append(text)
        total += len(samples) + len(silence)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(float_to_pcm16(np.concatenate(parts)).astype("<i2").tobytes())
    return path, " ".join(words)


@pytest.fixture(scope="session")
def recording_40s(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return speech_wav(tmp_path_factory.mktemp("audio") / "talk-40s.wav", 40)


def job_settings(data_dir: Path, database_url: str | None = None, **overrides: object) -> Settings:
    """Small chunks (several per test recording), quick polling and leases."""
    values: dict[str, object] = {
        "job_chunk_seconds": 15.0,
        "job_poll_seconds": 0.2,
        "job_lease_seconds": 3.0,
        "job_retry_base_seconds": 0.2,
        "job_webhook_secret": "test-webhook-secret-" + uuid.uuid4().hex,
    }
    values.update(overrides)
    return make_settings(data_dir, database_url, **values)
