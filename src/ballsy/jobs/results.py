"""From stored rows to what users see: transcripts, rendered outputs, status snapshots.

The subtitle and JSON writers are ``ballsy.speech.formats``, the same ones the
OpenAI-compatible endpoint and the CLI use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ballsy.jobs.options import JobEvent, JobOptions, JobStatus, OutputFormat
from ballsy.speech.formats import render_text, verbose_json
from ballsy.speech.stt import Segment, Transcript, Word
from ballsy.store.models import TranscriptionChunk, TranscriptionJob


def segment_to_json(segment: Segment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "avg_logprob": round(segment.avg_logprob, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
    }
    if segment.words:
        data["words"] = [
            [round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4)]
            for w in segment.words
        ]
    return data


def segments_of(chunks: Iterable[TranscriptionChunk]) -> list[Segment]:
    """Every stored segment in order, numbered from 0 across chunks."""
    segments: list[Segment] = []
    for chunk in chunks:
        for data in chunk.segments.get("segments", []):
            segments.append(
                Segment(
                    id=len(segments),
                    start=float(data["start"]),
                    end=float(data["end"]),
                    text=str(data["text"]),
                    words=tuple(
                        Word(float(a), float(b), str(w), float(p))
                        for a, b, w, p in data.get("words", [])
                    ),
                    avg_logprob=float(data.get("avg_logprob", 0.0)),
                    no_speech_prob=float(data.get("no_speech_prob", 0.0)),
                )
            )
    return segments


def build_transcript(
    segments: list[Segment], *, language: str | None, duration: float
) -> Transcript:
    return Transcript(
        text=" ".join(s.text for s in segments if s.text).strip(),
        language=language or "en",
        language_probability=1.0,
        duration=duration,
        segments=tuple(segments),
    )


def render(transcript: Transcript, fmt: OutputFormat, options: JobOptions) -> str:
    if fmt == "json":
        body = verbose_json(transcript, task=options.task, words=options.word_timestamps)
        if options.word_timestamps:
            # Words per segment too, so a reader need not re-align the flat list.
            for item, segment in zip(body["segments"], transcript.segments, strict=True):
                item["words"] = [
                    {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
                    for w in segment.words
                ]
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    text = render_text(transcript, fmt)
    return text if text.endswith("\n") or not text else text + "\n"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC back
        return moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class JobView:
    """A job as its owner sees it (the API, the CLI, webhooks)."""

    id: str
    status: JobStatus
    filename: str
    options: JobOptions
    language: str | None
    duration: float | None
    processed_seconds: float
    fraction: float | None
    eta_seconds: float | None
    chunks_done: int
    segments_done: int
    attempts: int
    error_code: str | None
    error: str | None
    outputs: tuple[str, ...]
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: TranscriptionJob, now: datetime | None = None) -> JobView:
        status: JobStatus = job.status  # type: ignore[assignment]
        fraction = None
        if status == "done":
            fraction = 1.0
        elif job.duration:
            fraction = round(min(1.0, job.processed_seconds / job.duration), 4)
        return cls(
            id=job.id,
            status=status,
            filename=job.filename,
            options=JobOptions.from_json(job.options),
            language=job.language,
            duration=None if job.duration is None else round(job.duration, 3),
            processed_seconds=round(job.processed_seconds, 3),
            fraction=fraction,
            eta_seconds=eta(job, now or datetime.now(UTC)),
            chunks_done=job.chunks_done,
            segments_done=job.segments_done,
            attempts=job.attempts,
            error_code=job.error_code,
            error=job.error,
            outputs=tuple(job.outputs),
            timings=dict(job.timings),
            created_at=_aware(job.created_at) or datetime.now(UTC),
            started_at=_aware(job.started_at),
            finished_at=_aware(job.finished_at),
        )

    def event(self) -> JobEvent:
        return JobEvent(
            job_id=self.id,
            status=self.status,
            processed_seconds=self.processed_seconds,
            duration=self.duration,
            chunks_done=self.chunks_done,
            segments_done=self.segments_done,
            eta_seconds=self.eta_seconds,
            error=self.error if self.status == "failed" else None,
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (webhook bodies, ``ballsy jobs show``)."""
        return {
            "id": self.id,
            "status": self.status,
            "filename": self.filename,
            "language": self.language,
            "duration": self.duration,
            "processed_seconds": self.processed_seconds,
            "progress": self.fraction,
            "segments": self.segments_done,
            "attempts": self.attempts,
            "error": {"code": self.error_code, "message": self.error} if self.error else None,
            "outputs": list(self.outputs),
            "timings": self.timings,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def eta(job: TranscriptionJob, now: datetime) -> float | None:
    """Seconds left at the speed of the current attempt, when that can be told."""
    if job.status != "running" or not job.duration:
        return None
    since = job.timings.get("attempt_started_at")
    done_before = float(job.timings.get("attempt_from_s", 0.0))
    if not since:
        return None
    elapsed = (now - datetime.fromisoformat(since)).total_seconds()
    processed = job.processed_seconds - done_before
    if elapsed <= 0 or processed <= 0:
        return None
    rate = processed / elapsed
    return round(max(0.0, (job.duration - job.processed_seconds) / rate), 1)
