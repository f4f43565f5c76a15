"""From stored rows to what users see: transcripts, rendered outputs, status snapshots.

The subtitle and JSON writers are ``ballsy.speech.formats``, the same ones the
OpenAI-compatible endpoint and the CLI use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

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


class JobView(BaseModel):
    """A job as its owner sees it (the API, the CLI, webhooks): validated from its row.

    ``fraction`` and ``eta_seconds`` are derived from the row as it is (``now`` from the
    validation context, so one page of jobs shares it); durations are then rounded.
    """

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: JobStatus
    filename: str
    options: JobOptions
    language: str | None
    duration: float | None
    processed_seconds: float
    fraction: float | None = None
    eta_seconds: float | None = None
    chunks_done: int
    segments_done: int
    attempts: int
    error_code: str | None
    error: str | None
    outputs: tuple[str, ...]
    """The formats already rendered to output storage."""
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: TranscriptionJob, now: datetime | None = None) -> JobView:
        return cls.model_validate(job, context={"now": now or datetime.now(UTC)})

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> Any:
        return JobOptions.from_json(value) if isinstance(value, dict) else value

    @field_validator("outputs", mode="before")
    @classmethod
    def _output_formats(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, dict) else value

    @field_validator("timings", mode="before")
    @classmethod
    def _own_timings(cls, value: Any) -> Any:
        return dict(value) if isinstance(value, dict) else value  # not the row's own dict

    @field_validator("created_at", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        return datetime.now(UTC) if value is None else value

    @field_validator("created_at", "started_at", "finished_at")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC back
            return moment.replace(tzinfo=UTC)
        return moment

    @model_validator(mode="after")
    def _progress(self, info: ValidationInfo) -> JobView:
        if self.status == "done":
            self.fraction = 1.0
        elif self.duration:
            self.fraction = round(min(1.0, self.processed_seconds / self.duration), 4)
        now = (info.context or {}).get("now") or datetime.now(UTC)
        self.eta_seconds = eta(self, now)
        self.duration = None if self.duration is None else round(self.duration, 3)
        self.processed_seconds = round(self.processed_seconds, 3)
        return self

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


def eta(job: TranscriptionJob | JobView, now: datetime) -> float | None:
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
