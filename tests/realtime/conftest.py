"""Realtime fixtures: a live server with short timers, and spoken questions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ballsy.speech.audio import decode_audio, float_to_pcm16, resample
from ballsy.speech.service import SpeechService
from tests.conftest import make_settings
from tests.live import live_app


@pytest.fixture(scope="module")
def realtime_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    settings = make_settings(
        tmp_path_factory.mktemp("rt"),
        preload_models=True,
        realtime_ping_interval=1.0,
        realtime_idle_timeout=5.0,
        max_concurrent_sessions=6,
    )
    with live_app(settings) as served:
        yield served


def speak(speech: SpeechService, text: str, rate: int = 16000) -> bytes:
    """``text`` spoken by Ballsy's own TTS, as PCM16 at ``rate``, with 1 s of silence after."""

    async def synthesize() -> np.ndarray:
        chunks = await speech.synthesize(text, engine="hibari")
        return np.concatenate([c async for c in chunks])

    pcm = asyncio.run(synthesize())
    samples = resample(pcm.astype(np.float32) / 32768.0, 24000, rate)
    silence = np.zeros(rate, dtype=np.float32)
    return float_to_pcm16(np.concatenate([samples, silence])).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def utterances(realtime_server: tuple[str, Any]) -> dict[str, bytes]:
    speech = realtime_server[1].state.services.speech
    return {
        "plus": speak(speech, "What is twelve plus seven?"),
        "times": speak(speech, "What is six times four?"),
        "story": speak(speech, "Tell me a long story about a brave dragon."),
        "plus24k": speak(speech, "What is twelve plus seven?", rate=24000),
    }


@pytest.fixture(scope="session")
def jfk_pcm(fixtures_dir: Path) -> bytes:
    audio = decode_audio(fixtures_dir / "jfk.flac").samples
    return float_to_pcm16(audio).astype("<i2").tobytes()
