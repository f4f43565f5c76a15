"""SpeechService: the one object the HTTP, realtime and job layers use for speech.

It owns one :class:`ModelSlot` per registered engine (so each model is loaded at
most once per process, on first use), runs every model call on the inference
runtime's threads, validates requests before anything is loaded, and streams
synthesis sentence by sentence so the first audio leaves early.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.speech.audio import AudioSource, DecodedAudio, decode_audio
from ballsy.speech.runtime import IdleReaper, InferenceRuntime, ModelSlot
from ballsy.speech.stt import (
    STT_SAMPLE_RATE,
    Segment,
    SpeechToText,
    SpeechToTextSpec,
    TranscribeOptions,
    Transcript,
    stt_engines,
    stt_spec,
)
from ballsy.speech.tts import (
    Int16Array,
    TextToSpeech,
    TextToSpeechSpec,
    check_speed,
    split_sentences,
    tts_engines,
    tts_spec,
)

log = get_logger("ballsy.speech.service")

T = TypeVar("T")
_DONE: Any = object()


class SpeechService:
    """Speech-to-text and text-to-speech on shared, lazily loaded local models.

    ``runtime``: pass the process's shared runtime (the service then leaves its
    shutdown to the owner); without one the service creates and closes its own.
    """

    def __init__(self, settings: Settings, runtime: InferenceRuntime | None = None) -> None:
        self.settings = settings
        self._owns_runtime = runtime is None
        self.runtime = runtime or InferenceRuntime.from_settings(settings)
        self._stt_specs = dict(stt_engines())
        self._tts_specs = dict(tts_engines())
        self._stt_slots: dict[str, ModelSlot[SpeechToText]] = {
            name: ModelSlot(f"stt:{name}", _loader(spec, settings))
            for name, spec in self._stt_specs.items()
        }
        self._tts_slots: dict[str, ModelSlot[TextToSpeech]] = {
            name: ModelSlot(f"tts:{name}", _loader(spec, settings))
            for name, spec in self._tts_specs.items()
        }
        self._reaper = IdleReaper(self.slots(), settings.model_idle_ttl)

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the idle reaper (when ``model_idle_ttl`` > 0). Models still load lazily."""
        self._reaper.start()

    async def preload(self, *, stt: str | None = None, tts: str | None = None) -> None:
        """Load the default (or named) models now, e.g. before reporting ready."""
        await self.runtime.run(self.stt_slot(stt or self.settings.stt_model).get)
        await self.runtime.run(self.tts_slot(tts or self.settings.tts_engine).get)

    async def close(self) -> None:
        await self._reaper.stop()
        if self._owns_runtime:
            await self.runtime.close()
        for slot in self.slots():
            slot.unload()

    def slots(self) -> list[ModelSlot[Any]]:
        return [*self._stt_slots.values(), *self._tts_slots.values()]

    def loaded_models(self) -> list[str]:
        """Slot names (``stt:tiny.en``, ``tts:hibari``) of the models in memory now."""
        return [slot.name for slot in self.slots() if slot.loaded]

    # --- catalogue -------------------------------------------------------------------

    def stt_models(self) -> list[str]:
        return list(self._stt_specs)

    def stt_model_info(self) -> list[SpeechToTextSpec]:
        return list(self._stt_specs.values())

    def tts_engines(self) -> list[str]:
        return list(self._tts_specs)

    def tts_voices(self, engine: str | None = None) -> list[str]:
        """Voice names usable offline for ``engine`` (default: the configured engine)."""
        return self._tts_spec(engine).voices()

    def sample_rate_for(self, engine: str | None = None) -> int:
        return self._tts_spec(engine).sample_rate

    def default_voice(self, engine: str | None = None) -> str:
        spec = self._tts_spec(engine)
        return spec.resolve_voice(self._configured_voice(spec))

    # --- speech to text --------------------------------------------------------------

    async def decode(
        self, source: AudioSource, *, max_seconds: float | None = None
    ) -> DecodedAudio:
        """Decode an upload to 16 kHz mono off the event loop, capped at
        ``max_seconds`` (default: the ``max_audio_seconds`` setting)."""
        limit = self.settings.max_audio_seconds if max_seconds is None else max_seconds
        return await self.runtime.run(_decode, source, limit)

    async def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: TranscribeOptions | None = None,
        model: str | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz float32 mono samples with ``model`` (default: configured)."""
        options = options or TranscribeOptions()
        name = model or self.settings.stt_model
        stt_spec(name).check(options)
        slot = self.stt_slot(name)
        started = time.perf_counter()
        try:
            transcript = await self.runtime.run(_transcribe, slot, audio, options)
        except Exception:
            metrics.STT_REQUESTS.labels(name, "failure").inc()
            raise
        metrics.STT_REQUESTS.labels(name, "success").inc()
        log.info(
            "ballsy.speech.transcribed",
            model=name,
            audio_s=round(len(audio) / STT_SAMPLE_RATE, 3),
            seconds=round(time.perf_counter() - started, 3),
        )
        return transcript

    async def iter_segments(
        self,
        audio: npt.NDArray[np.float32],
        options: TranscribeOptions | None = None,
        model: str | None = None,
    ) -> AsyncIterator[Segment]:
        """Segments as they are decoded (for server-sent events).

        Awaiting this validates the request, loads the model and runs language
        detection, so errors surface before a streaming response has started.
        """
        options = options or TranscribeOptions()
        name = model or self.settings.stt_model
        stt_spec(name).check(options)
        slot = self.stt_slot(name)
        stream = await self.runtime.run(_open_segments, slot, audio, options)
        return self._drain(slot, stream)

    # --- text to speech --------------------------------------------------------------

    async def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        speed: float = 1.0,
        engine: str | None = None,
    ) -> AsyncIterator[Int16Array]:
        """Speak ``text``: int16 PCM at ``sample_rate_for(engine)``, one chunk per sentence.

        Awaiting this validates everything and loads the engine; iterating synthesizes
        each sentence on an inference thread only when the consumer asks for it, so the
        first chunk is ready after one sentence and a cancelled reply stops early.
        """
        spec = self._tts_spec(engine)
        speed = check_speed(speed)
        chosen = spec.resolve_voice(voice if voice is not None else self._configured_voice(spec))
        cleaned = text.strip()
        if not cleaned:
            raise InvalidInput("there is no text to speak")
        if len(cleaned) > self.settings.max_tts_input_chars:
            raise InvalidInput(
                f"the text is longer than {self.settings.max_tts_input_chars} characters",
                detail={"max_chars": self.settings.max_tts_input_chars},
            )
        if not split_sentences(cleaned):
            raise InvalidInput("the text contains nothing speakable")
        slot = self.tts_slot(spec.name)
        metrics.TTS_CHARACTERS.labels(spec.name).inc(len(cleaned))
        chunks = await self.runtime.run(_open_synthesis, slot, cleaned, chosen, speed)
        return self._drain(slot, chunks)

    async def _drain(self, slot: ModelSlot[Any], items: Iterator[T]) -> AsyncIterator[T]:
        """Pull ``items`` one at a time on the runtime (admitted once, never refused)."""
        while True:
            item = await self.runtime.run_step(_next_item, slot, items)
            if item is _DONE:
                return
            yield item

    # --- helpers ---------------------------------------------------------------------

    def _configured_voice(self, spec: TextToSpeechSpec) -> str | None:
        configured = self.settings.tts_voice
        if configured and configured in spec.voices():
            return configured
        return None

    def _tts_spec(self, engine: str | None) -> TextToSpeechSpec:
        return tts_spec(engine or self.settings.tts_engine)

    def stt_slot(self, name: str) -> ModelSlot[SpeechToText]:
        stt_spec(name)  # UnknownModel with the valid names
        return self._stt_slots[name]

    def tts_slot(self, name: str) -> ModelSlot[TextToSpeech]:
        tts_spec(name)
        return self._tts_slots[name]


def _loader(spec: SpeechToTextSpec | TextToSpeechSpec, settings: Settings) -> Any:
    def load() -> Any:
        return spec.load(settings)

    return load


# --- functions run on inference threads ------------------------------------------------


def _decode(source: AudioSource, max_seconds: float) -> DecodedAudio:
    return decode_audio(source, sample_rate=STT_SAMPLE_RATE, max_seconds=max_seconds)


def _transcribe(
    slot: ModelSlot[SpeechToText], audio: npt.NDArray[np.float32], options: TranscribeOptions
) -> Transcript:
    with slot.lease() as engine:
        return engine.transcribe(audio, options)


def _open_segments(
    slot: ModelSlot[SpeechToText], audio: npt.NDArray[np.float32], options: TranscribeOptions
) -> Iterator[Segment]:
    with slot.lease() as engine:
        return engine.iter_segments(audio, options)


def _open_synthesis(
    slot: ModelSlot[TextToSpeech], text: str, voice: str, speed: float
) -> Iterator[Int16Array]:
    with slot.lease() as engine:
        return engine.synthesize(text, voice=voice, speed=speed)


def _next_item(slot: ModelSlot[Any], items: Iterator[T]) -> T:
    # The iterator holds its own reference to the engine; touching keeps an active
    # stream from looking idle to the reaper.
    slot.touch()
    try:
        return next(items, _DONE)
    finally:
        slot.touch()  # a step slower than the TTL must not leave the model looking idle
