"""What a connection asks of its voice session: one typed command per client intent.

Protocol adapters parse their wire messages into these (native JSON, OpenAI Realtime
events, Wyoming events) and hand them to :meth:`VoiceSession.handle`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ballsy.llm.base import ChatMessage, ToolSpec
from ballsy.realtime.session.options import SessionOptions


@dataclass(frozen=True, slots=True)
class AppendAudio:
    pcm: bytes
    """PCM16 little-endian mono at the session's input rate."""


@dataclass(frozen=True, slots=True)
class CommitInput:
    """End the user's turn now."""


@dataclass(frozen=True, slots=True)
class ClearInput:
    """Drop the audio heard so far in this turn."""


@dataclass(frozen=True, slots=True)
class SubmitText:
    text: str
    respond: bool = True
    instructions: str | None = None
    speak: bool | None = None
    continuation: tuple[ChatMessage, ...] = ()
    """After ``text``: a continued turn's calls and their results (ports.TurnInput)."""
    tools: tuple[ToolSpec, ...] | None = None
    """The client's functions offered to the model; None: the session's."""


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Stop the reply in progress (client cancel)."""


@dataclass(frozen=True, slots=True)
class Truncate:
    turn_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class Configure:
    options: SessionOptions


SessionCommand = (
    AppendAudio | CommitInput | ClearInput | SubmitText | Interrupt | Truncate | Configure
)
