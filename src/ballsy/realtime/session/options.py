"""How one voice session listens and answers; protocol adapters fill it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ballsy.errors import InvalidInput
from ballsy.llm.base import ToolSpec
from ballsy.realtime.session.turns import TurnWaits
from ballsy.speech.vad import TurnConfig

SUPPORTED_INPUT_RATES = (8000, 16000, 24000, 48000)


@dataclass(frozen=True, slots=True)
class SessionOptions:
    input_rate: int = 16_000
    output_rate: int | None = None
    """None: the TTS engine's own rate."""
    voice: str | None = None
    speed: float | None = None
    tts_engine: str | None = None
    server_vad: bool = True
    """False: the client commits turns itself (manual turn-taking)."""
    auto_respond: bool = True
    barge_in: bool = True
    """The user's speech interrupts the reply in progress."""
    queue_turns: bool = False
    """True: a new turn waits for the one in progress instead of interrupting it
    (transcription-only sessions such as Wyoming ASR, where every utterance counts)."""
    instructions: str | None = None
    partial_transcripts: bool = True
    speak: bool = True
    """False: replies are text only (no speech synthesis, no audio)."""
    vad: TurnConfig = field(default_factory=TurnConfig)
    turn_mode: Literal["fixed", "semantic"] = "fixed"
    """fixed: ``vad.silence_ms`` of silence ends a turn. semantic: at a candidate pause
    the end-of-turn model and the transcript decide (realtime/session/turns.py)."""
    candidate_ms: int = 200
    """A pause this long starts the speculative transcript (and, semantic, the verdict)."""
    waits: TurnWaits = field(default_factory=TurnWaits)
    """Semantic mode: how long an unsure or unfinished utterance may pause."""
    speculative_reply: bool = True
    """Start answering the speculative transcript during the pause; nothing is sent or
    stored until the turn is confirmed."""
    client_tools: tuple[ToolSpec, ...] = ()
    """Functions of the client the model may call (``/v1/realtime`` ``session.tools``):
    a reply that calls them ends with ``FunctionCallsRequested`` and the client runs them."""

    def __post_init__(self) -> None:
        if self.input_rate not in SUPPORTED_INPUT_RATES:
            rates = ", ".join(map(str, SUPPORTED_INPUT_RATES))
            raise InvalidInput(f"unsupported input sample rate {self.input_rate}; use {rates}")
