"""The real services behind the engine's ports: speech models, assistant, limits.

:func:`session_ports` is what the realtime routes call once per process; the engine
itself never sees the service container.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ballsy.assistant.service import Assistant, Turn
from ballsy.assistant.spoken import spoken_pieces
from ballsy.llm.base import ChatMessage, ToolCall, ToolSpec
from ballsy.observability.turns import TurnTimings
from ballsy.realtime.session.clock import SystemClock
from ballsy.realtime.session.events import SessionEvent
from ballsy.realtime.session.ports import (
    FloatArray,
    Int16Array,
    PreparedTurn,
    SessionPorts,
    SpeechDetector,
    Transcription,
    Voice,
)
from ballsy.scheduling import LEAD_WORK
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import STT_SAMPLE_RATE, UtteranceDecoding
from ballsy.speech.turn_model import shared_smart_turn
from ballsy.speech.vad import TurnConfig, TurnDetector
from ballsy.state.ratelimit import RateLimits

T = TypeVar("T")

# VAD runs here, off the event loop: Silero is ~0.1 ms a window, but a burst of
# frames from many sockets must not hold up the loop that serves them all.
_VAD_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vad")
# End-of-turn decisions (~60 ms of one core each) on a thread of their own, so they
# never queue behind VAD frames or transcriptions.
_TURN_THREADS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="turn")


async def offload_vad(fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_VAD_THREADS, fn)


class SpeechTranscriber:
    """Voice turns through the speech service, decoded by their length (beam search for
    short ones: :class:`~ballsy.speech.stt.UtteranceDecoding`, REALTIME_STT_* settings)."""

    def __init__(self, speech: SpeechService, decoding: UtteranceDecoding | None = None) -> None:
        self.speech = speech
        self.decoding = decoding or UtteranceDecoding.from_settings(speech.settings)

    async def transcribe(self, audio: FloatArray) -> Transcription:
        started = time.perf_counter()
        options = self.decoding.options(len(audio) / STT_SAMPLE_RATE)
        transcript = await self.speech.transcribe(audio, options)
        return Transcription(
            text=transcript.text,
            language=transcript.language,
            seconds=time.perf_counter() - started,
        )


class SpeechSynthesizer:
    def __init__(self, speech: SpeechService) -> None:
        self.speech = speech

    def sample_rate(self, engine: str | None) -> int:
        return self.speech.sample_rate_for(engine)

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[Int16Array]:
        return await self.speech.synthesize(
            text, voice=voice.name, speed=voice.speed, engine=voice.engine
        )


class AssistantTurn:
    """An :class:`~ballsy.assistant.service.Turn` as the engine's :class:`PreparedTurn`."""

    def __init__(self, assistant: Assistant, turn: Turn) -> None:
        self.assistant = assistant
        self.turn = turn

    @property
    def user_id(self) -> str:
        return self.turn.user_id

    @property
    def handled_by(self) -> str:
        return f"{self.turn.handled_by}:{self.turn.handler}"

    @property
    def usage(self) -> dict[str, int]:
        return dict(self.turn.data.get("usage") or {})

    @property
    def stages(self) -> Mapping[str, float]:
        return self.turn.timings

    def pieces(self) -> AsyncIterator[str]:
        # Spoken text: markdown a model wrote is never read aloud (ballsy.assistant.spoken).
        return spoken_pieces(self.assistant.reply(self.turn))

    @property
    def client_calls(self) -> tuple[ToolCall, ...]:
        return self.turn.client_calls

    async def finish(self, heard: str, *, interrupted: bool, timings: TurnTimings) -> int:
        result = await self.assistant.finish(
            self.turn, heard, interrupted=interrupted, timings=timings, observe=False
        )
        return result.id


class AssistantResponder:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    async def begin(
        self,
        user: str,
        text: str,
        *,
        instructions: str | None,
        client_tools: Sequence[ToolSpec] = (),
        continuation: Sequence[ChatMessage] = (),
    ) -> PreparedTurn:
        turn = await self.assistant.begin(
            user,
            text,
            "voice",
            instructions=instructions,
            client_tools=client_tools,
            continuation=continuation,
        )
        return AssistantTurn(self.assistant, turn)

    async def amend(self, user_id: str, history_id: int, heard: str) -> None:
        await self.assistant.amend_reply(user_id, history_id, heard)

    async def remember(self, user: str, messages: Sequence[tuple[str, str]]) -> None:
        await self.assistant.remember(user, messages)

    def understands(self, text: str) -> bool:
        return self.assistant.understands(text)


class SmartTurnJudge:
    """The Smart Turn model (shared by the process, loaded on first use)."""

    async def completion(self, audio: FloatArray) -> float:
        def judge() -> float:
            with LEAD_WORK.running():  # on the path to the reply's first audio
                return shared_smart_turn().completion(audio)

        return await asyncio.get_running_loop().run_in_executor(_TURN_THREADS, judge)


class VoiceTurnLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits

    async def admit(self, user: str) -> None:
        await self.limits.check_voice_turn(user)


def _detector(config: TurnConfig) -> SpeechDetector:
    return TurnDetector(config)


def session_ports(
    *,
    speech: SpeechService,
    assistant: Assistant,
    limits: RateLimits,
    observe: Callable[[SessionEvent], None],
    max_command_length: int,
    playout_lead_s: float,
) -> SessionPorts:
    return SessionPorts(
        transcriber=SpeechTranscriber(speech),
        responder=AssistantResponder(assistant),
        synthesizer=SpeechSynthesizer(speech),
        limiter=VoiceTurnLimiter(limits),
        judge=SmartTurnJudge(),
        clock=SystemClock(),
        detector=_detector,
        offload=offload_vad,
        observe=observe,
        max_command_length=max_command_length,
        playout_lead_s=playout_lead_s,
    )
