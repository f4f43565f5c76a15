"""Transcribing one chunk: its speech packed into clips, decoded batched or one by one.

``batched`` hands every clip of the chunk to faster-whisper's
``BatchedInferencePipeline`` (one encoder pass per batch instead of per 30 s window,
no re-seeking) — measured about 2x faster than sequential ``WhisperModel.transcribe``
on the 2-core development CPU (benchmarks/jobs.py). ``sequential`` decodes clip after
clip through the engine's own ``transcribe``, and is what any non-Whisper engine gets.

Everything here is blocking and runs on the job lane's threads.
"""

from __future__ import annotations

from typing import Any

from ballsy.jobs.chunking import RATE, ChunkAudio, PackedSpeech, pack_speech
from ballsy.jobs.options import JobOptions
from ballsy.speech.stt import Segment, SpeechToText, TranscribeOptions, Word

# faster-whisper's own fallback schedule, as the engine uses for temperature 0.
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def whisper_model(engine: SpeechToText) -> Any:
    """The faster-whisper ``WhisperModel`` inside a Whisper engine, or None.

    The batched pipeline wraps the loaded model rather than loading a second copy.
    """
    from faster_whisper import WhisperModel

    model = getattr(engine, "_model", None)
    return model if isinstance(model, WhisperModel) else None


def transcribe_chunk(
    engine: SpeechToText,
    chunk: ChunkAudio,
    options: JobOptions,
    language: str | None,
    *,
    batched: bool,
    batch_size: int,
) -> tuple[list[Segment], str | None]:
    """The chunk's segments on the recording's timeline, and the language heard."""
    packed = pack_speech(chunk, skip_pauses=options.vad_filter)
    if not packed.clips:
        return [], language
    model = whisper_model(engine) if batched else None
    if model is not None:
        raw, language = _batched(model, packed, options, language, batch_size)
    else:
        raw, language = _sequential(engine, packed, options, language)
    return place_segments(raw, packed, chunk), language


def _batched(
    model: Any, packed: PackedSpeech, options: JobOptions, language: str | None, batch_size: int
) -> tuple[list[Segment], str | None]:
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(model)
    raw_segments, info = pipeline.transcribe(
        packed.audio,
        language=language if model.model.is_multilingual else "en",
        task=options.task,
        beam_size=options.beam_size,
        best_of=options.beam_size,
        temperature=_TEMPERATURES,
        word_timestamps=options.word_timestamps,
        without_timestamps=False,  # segment-level timestamps, not one line per clip
        vad_filter=False,
        clip_timestamps=[{"start": a / RATE, "end": b / RATE} for a, b in packed.clips],
        batch_size=batch_size,
    )
    segments = [
        Segment(
            id=0,
            start=float(raw.start),
            end=float(raw.end),
            text=str(raw.text).strip(),
            words=tuple(
                Word(float(w.start), float(w.end), str(w.word), float(w.probability))
                for w in (raw.words or ())
            ),
            avg_logprob=float(raw.avg_logprob),
            no_speech_prob=float(raw.no_speech_prob),
        )
        for raw in raw_segments
    ]
    return segments, str(info.language)


def _sequential(
    engine: SpeechToText, packed: PackedSpeech, options: JobOptions, language: str | None
) -> tuple[list[Segment], str | None]:
    segments: list[Segment] = []
    for start, end in packed.clips:
        transcript = engine.transcribe(
            packed.audio[start:end],
            TranscribeOptions(
                language=language if engine.multilingual else None,
                word_timestamps=options.word_timestamps,
                vad_filter=False,  # the clip is speech already
                task=options.task,
                beam_size=options.beam_size,
            ),
        )
        language = language or transcript.language
        offset = start / RATE
        segments.extend(_shifted(segment, offset) for segment in transcript.segments)
    return segments, language


def _shifted(segment: Segment, offset: float) -> Segment:
    return Segment(
        id=segment.id,
        start=segment.start + offset,
        end=segment.end + offset,
        text=segment.text,
        words=tuple(
            Word(w.start + offset, w.end + offset, w.word, w.probability) for w in segment.words
        ),
        avg_logprob=segment.avg_logprob,
        no_speech_prob=segment.no_speech_prob,
    )


def place_segments(raw: list[Segment], packed: PackedSpeech, chunk: ChunkAudio) -> list[Segment]:
    """Packed-audio times → recording times, kept inside the chunk and in order.

    Clamping to the chunk and to the previous segment's end is what guarantees that
    segments of consecutive chunks (and of one chunk) never overlap.
    """
    base = chunk.start_sample / RATE
    limit = chunk.end_sample / RATE
    placed: list[Segment] = []
    previous_end = base

    def where(seconds: float) -> float:
        return min(limit, max(previous_end, base + packed.to_chunk_seconds(seconds)))

    for segment in raw:
        if not segment.text:
            continue
        start = where(segment.start)
        end = max(start, where(segment.end))
        words = tuple(
            Word(where(w.start), where(w.end), w.word, w.probability) for w in segment.words
        )
        placed.append(
            Segment(
                id=0,
                start=round(start, 3),
                end=round(end, 3),
                text=segment.text,
                words=words,
                avg_logprob=segment.avg_logprob,
                no_speech_prob=segment.no_speech_prob,
            )
        )
        previous_end = end
    return placed
