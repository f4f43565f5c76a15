"""What a voice session tells its connection: small typed events, one per happening.

The engine never formats wire messages; each protocol adapter (native ``/ws/voice``,
OpenAI Realtime ``/v1/realtime``, Wyoming) turns these events into its own messages.
Every turn ends with exactly one :class:`TurnEnded`, whatever happened to it — a
protocol can always close what it opened for the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ballsy.llm.base import ChatMessage, ToolCall
from ballsy.observability.turns import TurnTimings

TurnStatus = Literal["completed", "cancelled", "failed"]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    audio_ms: int
    """Where speech began in the session's input audio."""


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    audio_ms: int
    turn_id: str
    """The turn this speech became (its transcript and reply carry the same id)."""
    started_ms: int = 0
    """Where the speech began, in input audio time."""


@dataclass(frozen=True, slots=True)
class InputCommitted:
    """Buffered audio became a turn on the client's say-so (manual turn-taking)."""

    turn_id: str
    audio_ms: int
    """How much audio the turn holds."""


@dataclass(frozen=True, slots=True)
class TranscriptPartial:
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
class ReplyAudio:
    turn_id: str
    pcm: bytes
    """PCM16 little-endian mono at ``sample_rate``."""
    sample_rate: int
    seq: int


@dataclass(frozen=True, slots=True)
class FunctionCallsRequested:
    """The model called the client's functions: the reply of ``turn_id`` stops there
    (its ``TurnEnded`` follows) and the client runs them. To go on, a new turn answers
    ``user_text`` again with ``continuation`` + an assistant message holding ``calls``
    + one ``tool`` message per result."""

    turn_id: str
    calls: tuple[ToolCall, ...]
    user_text: str
    continuation: tuple[ChatMessage, ...] = ()
    """The messages the turn itself was begun with after ``user_text`` (earlier rounds)."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    turn_id: str
    played_ms: int
    played_text: str


@dataclass(frozen=True, slots=True)
class TurnError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The last event of every turn, answered or not."""

    turn_id: str
    status: TurnStatus
    responded: bool
    """A reply was started (``ResponseStarted`` was sent for this turn)."""
    text: str = ""
    """What the user really heard (the whole reply unless interrupted or failed)."""
    full_text: str = ""
    """Everything generated, played or not."""
    handled_by: str = ""
    history_id: int | None = None
    timings: TurnTimings = field(default_factory=TurnTimings)
    usage: dict[str, int] = field(default_factory=dict)
    """LLM token counts (``prompt_tokens``, ``completion_tokens``) when a model answered."""
    error: TurnError | None = None
    """Why the turn failed (``status == "failed"``)."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """Ballsy speaks up by itself (a timer is due, a reminder): the reply events of
    ``turn_id`` that follow speak ``text``."""

    turn_id: str
    text: str
    kind: str
    """What it is about (``timer``, ``reminder`` …), for the client's display."""


@dataclass(frozen=True, slots=True)
class SpeculationEnded:
    """A reply started on the speculative transcript during the pause was used (the
    pause ended the turn) or wasted (the user spoke on): for metrics, not clients."""

    turn_id: str
    used: bool
    seconds: float
    """How long it ran before it was confirmed or dropped."""


@dataclass(frozen=True, slots=True)
class InputOverrun:
    """Audio arrived faster than real time allows; ``dropped_ms`` of it was dropped."""

    dropped_ms: int
    close: bool
    """The client kept overrunning: the connection must be closed."""


@dataclass(frozen=True, slots=True)
class SessionError:
    """A problem outside any turn (a refused command, say)."""

    code: str
    message: str


SessionEvent = (
    SpeechStarted
    | SpeechStopped
    | InputCommitted
    | TranscriptPartial
    | TranscriptFinal
    | ResponseStarted
    | ReplyDelta
    | ReplyAudio
    | FunctionCallsRequested
    | Interrupted
    | TurnEnded
    | Announcement
    | SpeculationEnded
    | InputOverrun
    | SessionError
)
