"""What a voice session tells its connection: small typed events, one per happening.

The engine never formats wire messages; each protocol adapter (native ``/ws/voice``,
OpenAI Realtime ``/v1/realtime``) turns these events into its own JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    audio_ms: int
    """Where speech began in the session's input audio."""


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    audio_ms: int
    turn_id: str = ""
    """The turn this speech became (its transcript and reply carry the same id)."""


@dataclass(frozen=True, slots=True)
class TranscriptPartial:
    turn_id: str
    text: str


@dataclass(frozen=True, slots=True)
class TranscriptFinal:
    turn_id: str
    text: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    turn_id: str


@dataclass(frozen=True, slots=True)
class ReplyDelta:
    turn_id: str
    text: str


@dataclass(frozen=True, slots=True)
class AudioChunk:
    turn_id: str
    pcm: bytes
    """PCM16 little-endian mono at the session's output rate."""
    sample_rate: int
    seq: int


@dataclass(frozen=True, slots=True)
class Interrupted:
    turn_id: str
    played_ms: int
    played_text: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    turn_id: str
    status: Literal["completed", "cancelled", "failed"]
    text: str
    """What the user really heard (the whole reply unless interrupted)."""
    full_text: str
    """Everything generated, played or not."""
    handled_by: str = ""
    history_id: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    """LLM token counts (``prompt_tokens``, ``completion_tokens``) when a model answered."""


@dataclass(frozen=True, slots=True)
class SessionError:
    code: str
    message: str


SessionEvent = (
    SpeechStarted
    | SpeechStopped
    | TranscriptPartial
    | TranscriptFinal
    | ResponseStarted
    | ReplyDelta
    | AudioChunk
    | Interrupted
    | ResponseDone
    | SessionError
)
