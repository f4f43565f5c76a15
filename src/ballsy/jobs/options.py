"""What a job was asked to do, and the progress events it emits while doing it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, get_args

from ballsy.errors import InvalidInput
from ballsy.speech.stt import TranscribeOptions

OutputFormat = Literal["txt", "srt", "vtt", "json"]
OUTPUT_FORMATS: Final[tuple[OutputFormat, ...]] = get_args(OutputFormat)
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL: Final = frozenset({"done", "failed", "cancelled"})
MEDIA_TYPES: Final[dict[str, str]] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


def parse_formats(value: str | None) -> tuple[OutputFormat, ...]:
    """``"srt,vtt"`` → ``("srt", "vtt")``; unknown names are a 422."""
    if not value:
        return OUTPUT_FORMATS
    names: list[OutputFormat] = []
    for raw in value.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name not in OUTPUT_FORMATS:
            raise InvalidInput(
                f"unknown output format {name!r}; use {', '.join(OUTPUT_FORMATS)}",
                detail={"field": "formats"},
            )
        if name not in names:
            names.append(name)
    return tuple(names) or OUTPUT_FORMATS


@dataclass(frozen=True)
class JobOptions:
    """The transcription options, stored with the job as JSON."""

    model: str
    language: str | None = None
    """ISO 639-1 code; None detects it once, on the first chunk with speech."""
    word_timestamps: bool = False
    vad_filter: bool = True
    task: Literal["transcribe", "translate"] = "transcribe"
    beam_size: int = 1
    formats: tuple[OutputFormat, ...] = field(default=OUTPUT_FORMATS)

    def transcribe_options(self) -> TranscribeOptions:
        """The engine options these ask for, to check them before a byte is stored."""
        return TranscribeOptions(language=self.language, task=self.task, beam_size=self.beam_size)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["formats"] = list(self.formats)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["formats"] = tuple(known.get("formats") or OUTPUT_FORMATS)
        return cls(**known)


@dataclass(frozen=True)
class JobEvent:
    """One progress report: what the CLI's bar, SSE clients and webhooks are fed."""

    job_id: str
    status: JobStatus
    processed_seconds: float
    duration: float | None
    chunks_done: int
    segments_done: int
    eta_seconds: float | None = None
    error: str | None = None

    @property
    def fraction(self) -> float | None:
        if self.status == "done":
            return 1.0
        if not self.duration:
            return None
        return min(1.0, self.processed_seconds / self.duration)
