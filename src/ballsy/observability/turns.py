"""Per-turn stage timings: one typed record per turn, one meaning per field.

The engine measures a voice turn as it goes (:class:`TurnStopwatch`) and freezes it
into :class:`TurnTimings` when the turn ends. That record travels with the turn's
``TurnEnded`` event to the client, the history row, metrics, logs and the admin
analytics; nobody invents keys of their own. Voice stages are measured from the
moment the turn was confirmed over (end-of-turn detected), except ``eot_wait_ms``,
which is the audio time from the end of speech to that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ballsy.observability.logging import get_logger
from ballsy.observability.metrics import record_turn

log = get_logger("ballsy.turns")

# History rows written before TurnTimings used these keys; reading them keeps old
# analytics honest. ``stt_ms`` on voice sockets was the wait for the transcript after
# the pause (not the whole transcription), and ``vad_ms`` the end-of-turn wait.
LEGACY_KEYS = {"vad_ms": "eot_wait_ms", "stt_ms": "transcript_wait_ms"}


@dataclass(frozen=True, slots=True)
class TurnTimings:
    """Milliseconds; ``None`` when the stage did not happen in this turn."""

    decode_ms: float | None = None
    """An uploaded file decoded to 16 kHz PCM (``POST /api/voice``)."""
    eot_wait_ms: float | None = None
    """Audio time from the end of speech until the end of the turn was decided."""
    turn_decision_ms: float | None = None
    """The end-of-turn model's run at the pause that ended the turn (semantic mode)."""
    transcript_wait_ms: float | None = None
    """Turn confirmed → transcript in hand (near 0 when a speculative one was ready)."""
    transcription_ms: float | None = None
    """How long the transcription that produced the final transcript ran."""
    prepare_ms: float | None = None
    """Clean the text, load preferences and conversation memory."""
    skills_ms: float | None = None
    """Try every built-in skill."""
    llm_first_token_ms: float | None = None
    """LLM call → first token (only when the LLM answered)."""
    llm_ms: float | None = None
    """LLM call → last token (every step of a turn with tool calls)."""
    tools_ms: float | None = None
    """Running the tools the LLM called, all of them (part of ``llm_ms``)."""
    tts_ms: float | None = None
    """The whole reply synthesized (``POST /api/voice``)."""
    tts_first_audio_ms: float | None = None
    """First sentence handed to TTS → its first audio."""
    first_audio_ms: float | None = None
    """Turn confirmed → first reply audio handed to the client's socket."""
    end_to_end_ms: float | None = None
    """End of speech → first reply audio sent: ``eot_wait_ms + first_audio_ms``."""
    persist_ms: float | None = None
    """Writing the turn to history."""
    total_ms: float | None = None
    """Turn confirmed (or request received) → the turn ended."""

    def as_dict(self) -> dict[str, float]:
        """The stages that happened, for JSON (history rows, the client's ``turn``)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def merged(self, stages: Mapping[str, Any]) -> TurnTimings:
        """These timings with known ``<stage>_ms`` values from ``stages`` filled in."""
        known = {f.name for f in fields(self)}
        given = {k: float(v) for k, v in stages.items() if k in known and v is not None}
        return replace(self, **given)

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> TurnTimings:
        """Read a history row's timings, old key names included."""
        legacy = dict(LEGACY_KEYS)
        if "decode_ms" in stored:  # an old POST /api/voice row: stt_ms was the whole run
            legacy["stt_ms"] = "transcription_ms"
        renamed = {legacy.get(key, key): value for key, value in stored.items()}
        numbers = {k: v for k, v in renamed.items() if isinstance(v, int | float)}
        return cls().merged(numbers)


STAGES = tuple(f.name.removesuffix("_ms") for f in fields(TurnTimings))
"""Stage names in pipeline order (metrics labels, dashboard columns)."""


@dataclass(frozen=True, slots=True)
class TurnReport:
    """One finished turn, as metrics and logs see it."""

    source: str
    """``text`` (REST, typed) or ``voice``."""
    kind: str
    """``skill`` or ``llm`` (empty when the turn failed before it was answered)."""
    handler: str
    status: str
    """``completed``, ``cancelled`` or ``failed``."""
    timings: TurnTimings
    error_code: str | None = None
    turn_id: str | int | None = None
    """The engine's turn id (voice sockets) or the history id (REST)."""
    history_id: int | None = None


def observe_turn(report: TurnReport) -> None:
    """The one place a finished turn becomes metrics and a log event."""
    stages = {k.removesuffix("_ms"): v for k, v in report.timings.as_dict().items()}
    record_turn(
        source=report.source,
        kind=report.kind or "none",
        handler=report.handler or "none",
        interrupted=report.status == "cancelled",
        stages_ms=stages,
        error_code=report.error_code,
    )
    log.info(
        "ballsy.turn.completed",
        turn_id=report.turn_id,
        history_id=report.history_id,
        source=report.source,
        kind=report.kind,
        handler=report.handler,
        status=report.status,
        error_code=report.error_code,
        timings=report.timings.as_dict(),
    )
