"""The few things the conversation engine needs from the rest of Ballsy.

The engine depends on these small protocols, never on the service container:
:mod:`ballsy.realtime.session.adapters` hands it the real speech models, assistant
and rate limits, and the engine's unit tests hand it fakes that answer in
microseconds. Each port is what one stage uses, no more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from ballsy.llm.base import ChatMessage, ToolCall, ToolSpec
from ballsy.observability.turns import TurnTimings
from ballsy.realtime.session.clock import Clock
from ballsy.realtime.session.events import SessionEvent
from ballsy.speech.vad import TurnConfig, TurnEvent

FloatArray = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Transcription:
    text: str
    language: str | None
    seconds: float
    """Compute time of the transcription."""


class Transcriber(Protocol):
    async def transcribe(self, audio: FloatArray) -> Transcription:
        """16 kHz float32 mono in; raises ``BallsyError`` (busy, model trouble) or worse."""
        ...


@dataclass(frozen=True, slots=True)
class Voice:
    name: str | None
    speed: float
    engine: str | None
    output_rate: int


class Synthesizer(Protocol):
    def sample_rate(self, engine: str | None) -> int:
        """The native rate of ``engine``'s audio (None: the configured engine)."""
        ...

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[Int16Array]:
        """Speak ``text`` at ``sample_rate(voice.engine)``, chunk by chunk."""
        ...


@dataclass(frozen=True, slots=True)
class TurnInput:
    """What a turn answers: the user's text and, when it continues a turn whose model
    called the client's functions, the messages after that text (the assistant's calls,
    then one ``tool`` message per result)."""

    text: str
    continuation: tuple[ChatMessage, ...] = ()


class PreparedTurn(Protocol):
    """One assistant turn begun for the engine: stream it, then persist what was heard."""

    @property
    def user_id(self) -> str: ...

    @property
    def handled_by(self) -> str:
        """``skill:math``, ``llm:local`` … (known once the reply has started)."""
        ...

    @property
    def usage(self) -> dict[str, int]: ...

    @property
    def stages(self) -> Mapping[str, float]:
        """The assistant's own ``<stage>_ms`` timings (prepare, skills, LLM)."""
        ...

    def pieces(self) -> AsyncIterator[str]:
        """The reply text as it is produced; closing it stops generation."""
        ...

    @property
    def client_calls(self) -> tuple[ToolCall, ...]:
        """The client's functions the model called, known once :meth:`pieces` has ended:
        the reply stops there, and the client runs them (empty for an answer)."""
        ...

    async def finish(self, heard: str, *, interrupted: bool, timings: TurnTimings) -> int | None:
        """Store the turn with the reply the user heard; returns its history id."""
        ...


class AnnouncedTurn:
    """A :class:`PreparedTurn` that speaks a fixed text Ballsy says by itself."""

    def __init__(self, user_id: str, text: str, kind: str) -> None:
        self.user_id = user_id
        self.text = text
        self.handled_by = f"notice:{kind}"
        self.usage: dict[str, int] = {}
        self.stages: Mapping[str, float] = {}
        self.client_calls: tuple[ToolCall, ...] = ()

    async def _say(self) -> AsyncIterator[str]:
        yield self.text

    def pieces(self) -> AsyncIterator[str]:
        return self._say()

    async def finish(self, heard: str, *, interrupted: bool, timings: TurnTimings) -> int | None:
        return None  # the announcer keeps its own record


class Responder(Protocol):
    async def begin(
        self,
        user: str,
        text: str,
        *,
        instructions: str | None,
        client_tools: Sequence[ToolSpec] = (),
        continuation: Sequence[ChatMessage] = (),
    ) -> PreparedTurn:
        """Begin answering ``text``; ``client_tools`` are the client's functions the model
        may call, ``continuation`` what followed ``text`` (see :class:`TurnInput`)."""
        ...

    async def amend(self, user_id: str, history_id: int, heard: str) -> None:
        """A stored reply was cut short: keep only ``heard``."""
        ...

    async def remember(self, user: str, messages: Sequence[tuple[str, str]]) -> None:
        """Add context messages to the user's memory without a turn."""
        ...

    def understands(self, text: str) -> bool:
        """A built-in skill answers ``text`` (it is a complete command)."""
        ...


class TurnJudge(Protocol):
    async def completion(self, audio: FloatArray) -> float:
        """Probability (0–1) that the utterance so far (16 kHz) is finished."""
        ...


class TurnLimiter(Protocol):
    async def admit(self, user: str) -> None:
        """Count one turn for ``user``; raises ``RateLimited`` past the limit."""
        ...


class SpeechDetector(Protocol):
    """Streaming VAD + end-of-turn decisions (:class:`ballsy.speech.vad.TurnDetector`)."""

    @property
    def speaking(self) -> bool: ...

    @property
    def time_s(self) -> float: ...

    @property
    def trailing_silence_s(self) -> float: ...

    def feed(self, chunk: FloatArray) -> list[TurnEvent]: ...

    def flush(self) -> list[TurnEvent]: ...

    def turn_audio(self) -> FloatArray: ...

    def reset(self) -> None: ...


Offload = Callable[[Callable[[], T]], Awaitable[T]]
"""Run a blocking call (VAD inference) off the event loop and await its result."""


async def run_inline(fn: Callable[[], T]) -> T:
    """An :data:`Offload` for tests and fakes: just call it."""
    return fn()


@dataclass(frozen=True, slots=True)
class SessionPorts:
    """Everything one voice session may touch."""

    transcriber: Transcriber
    responder: Responder
    synthesizer: Synthesizer
    limiter: TurnLimiter
    judge: TurnJudge
    clock: Clock
    detector: Callable[[TurnConfig], SpeechDetector]
    offload: Offload[list[TurnEvent]]
    observe: Callable[[SessionEvent], None]
    """Sees every event before the connection does (metrics, logs)."""
    max_command_length: int = 1000
    playout_lead_s: float = 0.25
