"""Speech-to-text: the engine protocol, its result types and the engine registry.

An engine takes 16 kHz float32 mono samples (decoding is ``audio.py``'s job) and
returns a :class:`Transcript`. Engines register a :class:`SpeechToTextSpec` under a
config name; the spec describes the engine without loading it, so listing models or
validating a request never pays for a model load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ballsy.config import Settings
from ballsy.errors import InvalidInput, UnknownModel
from ballsy.providers import Registry

STT_SAMPLE_RATE = 16_000

Task = Literal["transcribe", "translate"]

FALLBACK_TEMPERATURES = (0.2, 0.4, 0.6, 0.8, 1.0)
"""OpenAI's contract for temperature 0: start greedy (or beam search) and raise the
temperature only when a window fails the compression-ratio / log-prob checks."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    temperature: float = 0.0
    """The temperature of the decode that was kept: above 0, the fallback fired."""


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class TranscribeOptions:
    """What the caller asks for; engines ignore nothing silently (see ``validate``)."""

    language: str | None = None
    """ISO 639-1 code; ``None`` detects it (multilingual engines only)."""
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    vad_filter: bool = True
    task: Task = "transcribe"
    beam_size: int = 1
    fallback_temperatures: tuple[float, ...] = FALLBACK_TEMPERATURES
    """At temperature 0: the temperatures tried, in order, when a window's decode fails
    the compression-ratio or log-probability check; ``()`` keeps the first decode."""
    timestamps: bool = True
    """Segment timestamps; without them a window is one segment, decoded a little faster."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 1.0:
            raise InvalidInput("temperature must be between 0 and 1")
        if not all(0.0 < t <= 1.0 for t in self.fallback_temperatures):
            raise InvalidInput("fallback temperatures must be above 0 and at most 1")
        if not 1 <= self.beam_size <= 10:
            raise InvalidInput("beam_size must be between 1 and 10")
        if self.task not in ("transcribe", "translate"):
            raise InvalidInput("task must be 'transcribe' or 'translate'")


@dataclass(frozen=True)
class UtteranceDecoding:
    """How a live utterance (a voice turn) is decoded, by its length.

    Beam search costs decode time in proportion to the beam, so it is used only for
    utterances up to ``beam_max_seconds`` (questions and commands, where one misheard
    word sends a skill request to the LLM); longer dictation decodes greedily.
    """

    beam_size: int = 1
    beam_max_seconds: float = 15.0
    prompt: str | None = None
    """Text the decoder sees as what came before: the assistant's own vocabulary."""
    fallback_temperatures: tuple[float, ...] = FALLBACK_TEMPERATURES

    @classmethod
    def from_settings(cls, settings: Settings) -> UtteranceDecoding:
        return cls(
            beam_size=settings.realtime_stt_beam_size,
            beam_max_seconds=settings.realtime_stt_beam_max_seconds,
            prompt=settings.realtime_stt_prompt or None,
            fallback_temperatures=tuple(settings.realtime_stt_fallback_temperatures),
        )

    def options(self, seconds: float) -> TranscribeOptions:
        """The decode of an utterance ``seconds`` long (live audio: no VAD filter)."""
        short = seconds <= self.beam_max_seconds
        return TranscribeOptions(
            prompt=self.prompt,
            vad_filter=False,
            beam_size=self.beam_size if short else 1,
            fallback_temperatures=self.fallback_temperatures,
        )


class SegmentStream(Iterator[Segment]):
    """Segments as the decoder produces them, plus what is known before the first one."""

    def __init__(
        self,
        segments: Iterator[Segment],
        *,
        language: str,
        language_probability: float,
        duration: float,
    ) -> None:
        self._segments = segments
        self.language = language
        self.language_probability = language_probability
        self.duration = duration

    def __next__(self) -> Segment:
        return next(self._segments)


@runtime_checkable
class SpeechToText(Protocol):
    """A loaded speech-to-text engine. Implementations must be thread-safe."""

    @property
    def name(self) -> str: ...

    @property
    def multilingual(self) -> bool: ...

    def transcribe(self, audio: npt.NDArray[np.float32], options: TranscribeOptions) -> Transcript:
        """Transcribe (or translate to English) 16 kHz float32 mono samples."""
        ...

    def iter_segments(
        self, audio: npt.NDArray[np.float32], options: TranscribeOptions
    ) -> SegmentStream:
        """Like :meth:`transcribe` but yields segments as they are decoded."""
        ...


@dataclass(frozen=True)
class SpeechToTextSpec:
    """A registered engine: what it can do, and how to load it."""

    name: str
    multilingual: bool
    load: Callable[[Settings], SpeechToText] = field(repr=False)
    description: str = ""

    def check(self, options: TranscribeOptions) -> None:
        """Refuse requests this engine cannot honour before any model is loaded."""
        check_options(self.name, self.multilingual, options)


def check_options(model: str, multilingual: bool, options: TranscribeOptions) -> None:
    """English-only models can neither translate nor listen for another language."""
    if multilingual:
        return
    if options.task == "translate":
        raise InvalidInput(
            f"model {model!r} is English-only and cannot translate; "
            "use a multilingual model such as 'base'",
            detail={"model": model},
        )
    if options.language not in (None, "en"):
        raise InvalidInput(
            f"model {model!r} only understands English (got language "
            f"{options.language!r}); use a multilingual model such as 'base'",
            detail={"model": model},
        )


STT_ENGINES: Registry[SpeechToTextSpec] = Registry(
    "speech-to-text model",
    package="ballsy.speech.stt_engines",
    error=UnknownModel,
    detail_key="model",
)
"""Every engine, by its STT_MODEL name (``speech/stt_engines/`` is imported on first use)."""


def register_stt(spec: SpeechToTextSpec) -> SpeechToTextSpec:
    return STT_ENGINES.register(spec.name, spec, description=spec.description)


def stt_engines() -> dict[str, SpeechToTextSpec]:
    """Every registered engine, by name."""
    return dict(STT_ENGINES.items())


def stt_spec(name: str) -> SpeechToTextSpec:
    """The registered engine called ``name``, or :class:`UnknownModel` naming the valid ones."""
    return STT_ENGINES.get(name)


def check_audio(audio: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Samples as contiguous 1-D float32 (int16 PCM is scaled); anything else is refused."""
    array = np.asarray(audio)
    if array.ndim != 1:
        raise InvalidInput("speech-to-text expects mono (1-D) 16 kHz samples")
    if array.dtype == np.int16:
        return (array.astype(np.float32) / 32768.0).astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidInput(f"unsupported sample type {array.dtype}; use float32 or int16")
    return np.ascontiguousarray(array, dtype=np.float32)
