"""Transcribing one chunk: its speech packed into clips, decoded batched or one by one.

``batched`` hands every clip of the chunk to faster-whisper's
``BatchedInferencePipeline`` (one encoder pass per batch instead of per 30 s window,
no re-seeking) — measured about 2x faster than sequential ``WhisperModel.transcribe``
on the 2-core development CPU (benchmarks/jobs.py). ``sequential`` decodes clip after
clip through the engine's own ``transcribe``, and is what any non-Whisper engine gets.

Both decode lazily and hand each segment to a :class:`SegmentPlacer` as it comes
out (the batched pipeline's generator yields a batch's segments after each forward
pass; sequential mode yields per clip), so the caller can be told the position
reached while a chunk is still being decoded: live progress, well before the chunk
is committed.

Everything here is blocking and runs on the job lane's threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ballsy.jobs.chunking import RATE, ChunkAudio, PackedSpeech, pack_speech
from ballsy.jobs.options import JobOptions
from ballsy.speech.stt import Segment, SpeechToText, TranscribeOptions, Word

# faster-whisper's own fallback schedule, as the engine uses for temperature 0.
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

DecodeProgress = Callable[[float, int], None]
"""Called on the decoding thread after each placed segment: the position reached on
the recording's timeline (the segment's end, seconds) and the chunk's segments so far."""


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
    on_progress: DecodeProgress | None = None,
) -> tuple[list[Segment], str | None]:
    """The chunk's segments on the recording's timeline, and the language heard."""
    packed = pack_speech(chunk, skip_pauses=options.vad_filter)
    if not packed.clips:
        return [], language
    placer = SegmentPlacer(packed, chunk, on_progress)
    model = whisper_model(engine) if batched else None
    if model is not None:
        raw, language = _batched(model, packed, options, language, batch_size)
        placer.place(raw)
    else:
        language = _sequential(engine, packed, options, language, placer)
    return placer.placed, language


def _batched(
    model: Any, packed: PackedSpeech, options: JobOptions, language: str | None, batch_size: int
) -> tuple[Iterator[Segment], str | None]:
    """The pipeline's segments, lazily: decoding happens as the iterator is consumed."""
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
    segments = (
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
    )
    return segments, str(info.language)


def _sequential(
    engine: SpeechToText,
    packed: PackedSpeech,
    options: JobOptions,
    language: str | None,
    placer: SegmentPlacer,
) -> str | None:
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
        placer.place(_shifted(segment, offset) for segment in transcript.segments)
    return language


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


class SegmentPlacer:
    """Places a chunk's decoded segments on the recording's timeline as they come.

    Packed-audio times become recording times, clamped to the chunk and to the
    previous segment's end: that is what guarantees that segments of consecutive
    chunks (and of one chunk) never overlap, however the decoding was split up.
    """

    def __init__(
        self, packed: PackedSpeech, chunk: ChunkAudio, on_progress: DecodeProgress | None = None
    ) -> None:
        self.packed = packed
        self.base = chunk.start_sample / RATE
        self.limit = chunk.end_sample / RATE
        self.previous_end = self.base
        self.placed: list[Segment] = []
        self.on_progress = on_progress

    def _where(self, seconds: float) -> float:
        return min(
            self.limit, max(self.previous_end, self.base + self.packed.to_chunk_seconds(seconds))
        )

    def place(self, raw: Iterable[Segment]) -> None:
        """Add ``raw``'s segments (packed-audio times), reporting after each one."""
        for segment in raw:
            if not segment.text:
                continue
            start = self._where(segment.start)
            end = max(start, self._where(segment.end))
            words = tuple(
                Word(self._where(w.start), self._where(w.end), w.word, w.probability)
                for w in segment.words
            )
            self.placed.append(
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
            self.previous_end = end
            if self.on_progress is not None:
                self.on_progress(end, len(self.placed))
