"""The hibari TTS engine: 24 kHz English voices in an 8 MB ONNX model.

Only voices already on disk are offered: "heart" ships inside the wheel, and the
others count only if an operator placed them in hibari's cache beforehand. hibari
would download a missing voice on first use; Ballsy never lets it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

from ballsy.config import Settings
from ballsy.errors import ModelUnavailable, UnknownModel
from ballsy.speech.audio import float_to_pcm16
from ballsy.speech.tts import (
    Int16Array,
    TextToSpeechSpec,
    check_speed,
    register_tts,
    split_sentences,
)

HIBARI_SAMPLE_RATE: Final = 24_000
HIBARI_DEFAULT_VOICE: Final = "heart"


def hibari_voices() -> list[str]:
    """Voices usable offline: bundled in the wheel or already in hibari's cache."""
    try:
        from hibari.voices import VOICES, voice_path
    except ImportError:
        return []
    available = []
    for name in VOICES:
        try:
            voice_path(name, download_missing=False)
        except FileNotFoundError:
            continue
        available.append(str(name))
    return available


class HibariEngine:
    """hibari with one model per voice, loaded when that voice is first asked for."""

    name = "hibari"
    sample_rate = HIBARI_SAMPLE_RATE
    default_voice = HIBARI_DEFAULT_VOICE

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        # The G2P keeps caches and lazily builds parts of itself: not safe to share
        # across threads, so phonemization runs under the lock (a few ms a sentence)
        # and only the ONNX synthesis runs in parallel.
        self._models: dict[str, Any] = {}
        self._load_voice(HIBARI_DEFAULT_VOICE)

    def voices(self) -> list[str]:
        return hibari_voices()

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[Int16Array]:
        speed = check_speed(speed)
        model = self._model_for(voice or HIBARI_DEFAULT_VOICE)
        return self._sentences(model, split_sentences(text), speed)

    def _sentences(self, model: Any, sentences: list[str], speed: float) -> Iterator[Int16Array]:
        rng = np.random.default_rng()
        for sentence in sentences:
            with self._lock:
                phonemes = model.phonemize(sentence)
            parts = [model.from_ids(model.ids(ps), speed, rng) for ps in phonemes]
            if parts:
                yield float_to_pcm16(np.concatenate(parts))

    def _model_for(self, voice: str) -> Any:
        with self._lock:
            model = self._models.get(voice)
        if model is not None:
            return model
        if voice not in hibari_voices():
            raise UnknownModel(
                f"unknown voice {voice!r} for hibari; available: {', '.join(hibari_voices())}",
                detail={"engine": self.name, "voice": voice},
            )
        return self._load_voice(voice)

    def _load_voice(self, voice: str) -> Any:
        try:
            from hibari import Hibari
            from hibari.voices import voice_path

            path = voice_path(voice, download_missing=False)
            model = Hibari(voice=voice, model=path, threads=self._threads)
            _ = model.g2p  # built lazily by hibari; build it now so the first reply is fast
        except (ImportError, FileNotFoundError, OSError) as exc:
            raise ModelUnavailable(f"could not load hibari voice {voice!r}: {exc}") from exc
        with self._lock:
            return self._models.setdefault(voice, model)


def load_hibari(settings: Settings) -> HibariEngine:
    return HibariEngine()


HIBARI = register_tts(
    TextToSpeechSpec(
        name="hibari",
        sample_rate=HIBARI_SAMPLE_RATE,
        default_voice=HIBARI_DEFAULT_VOICE,
        voices=hibari_voices,
        load=load_hibari,
        description="hibari: 24 kHz English voices, ~14x real time on one core",
    )
)
