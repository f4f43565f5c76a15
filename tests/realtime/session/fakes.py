"""Fake ports for the conversation engine: no models, no server, virtual time.

Audio is synthetic: a tone is "speech" to :class:`EnergyVad`, zeros are silence. The
real :class:`~ballsy.speech.vad.TurnDetector` runs on top of it, so turn-taking logic
is the production one; only the neural network is replaced.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ballsy.errors import RateLimited
from ballsy.llm.base import ChatMessage, ToolCall, ToolSpec
from ballsy.observability.turns import TurnTimings
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import SessionEvent
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.ports import (
    FloatArray,
    Int16Array,
    PreparedTurn,
    SessionPorts,
    SpeechDetector,
    Transcription,
    Voice,
    run_inline,
)
from ballsy.speech.vad import TurnConfig, TurnDetector

RATE = 16_000
FRAME_S = 0.02


class FakeClock:
    """Virtual time that moves only when the test says so; sleepers wake as it passes."""

    def __init__(self) -> None:
        self.t = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, woken))
        await woken

    def advance(self, seconds: float) -> None:
        self.t += seconds
        due = [entry for entry in self._sleepers if entry[0] <= self.t + 1e-9]
        self._sleepers = [entry for entry in self._sleepers if entry[0] > self.t + 1e-9]
        for _, woken in due:
            if not woken.done():
                woken.set_result(None)


class EnergyVad:
    """A :class:`~ballsy.speech.vad.VadModel`: loud windows are speech."""

    def infer(
        self, windows: FloatArray, h: FloatArray, c: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        rms = np.sqrt(np.mean(np.square(windows[:, 64:]), axis=1))
        return (rms > 0.02).astype(np.float32), h, c


def detector(config: TurnConfig) -> SpeechDetector:
    return TurnDetector(config, vad=EnergyVad())


class FakeTranscriber:
    """Answers ``texts`` in order (then the last one); ``gate`` holds calls until set."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts) or ["what is twelve times seven"]
        self.calls: list[float] = []  # audio seconds of each call
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def transcribe(self, audio: FloatArray) -> Transcription:
        index = len(self.calls)
        self.calls.append(len(audio) / RATE)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            if self.fail is not None:
                raise self.fail
            text = self.texts[min(index, len(self.texts) - 1)]
            return Transcription(text=text, language="en", seconds=0.05)
        finally:
            self.in_flight -= 1


@dataclass
class Stored:
    user: str
    text: str
    heard: str
    interrupted: bool
    timings: TurnTimings


@dataclass
class FakeTurn:
    responder: FakeResponder
    user_id: str
    text: str
    script: list[str]
    fail_after: int | None = None
    handled_by: str = "llm:fake"
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 3})
    stages: Mapping[str, float] = field(default_factory=lambda: {"prepare_ms": 1.0})
    closed: bool = False
    client_tools: tuple[ToolSpec, ...] = ()
    continuation: tuple[ChatMessage, ...] = ()
    calls: tuple[ToolCall, ...] = ()
    """The client calls the model makes once its text (``script``) is out."""
    ended: bool = False

    @property
    def client_calls(self) -> tuple[ToolCall, ...]:
        return self.calls if self.ended else ()

    async def _stream(self) -> AsyncIterator[str]:
        try:
            for index, piece in enumerate(self.script):
                if self.fail_after is not None and index >= self.fail_after:
                    raise RuntimeError("llama_decode returned -3")
                await asyncio.sleep(0)
                yield piece
            self.ended = True
        finally:
            self.closed = True

    def pieces(self) -> AsyncIterator[str]:
        return self._stream()

    async def finish(self, heard: str, *, interrupted: bool, timings: TurnTimings) -> int:
        self.responder.stored.append(Stored(self.user_id, self.text, heard, interrupted, timings))
        return len(self.responder.stored)


class FakeResponder:
    """Answers ``replies`` in order (then the last one). Offered client tools, it acts
    like a tool-calling model (tests/fake_openai.py's ``tools``): it calls the first
    tool with ``{"query": <text>}`` (after saying ``preface``, if any) until a ``tool``
    result follows the text, then answers ``The tool said: <results>.``"""

    def __init__(self, *replies: str, fail_after: int | None = None, preface: str = "") -> None:
        self.replies = list(replies) or ["Twelve times seven is eighty four."]
        self.fail_after = fail_after
        self.preface = preface
        self.always_call = False
        """Call again even after a result (a model that never stops calling)."""
        self.stored: list[Stored] = []
        self.amended: list[tuple[int, str]] = []
        self.remembered: list[tuple[str, str]] = []
        self.turns: list[FakeTurn] = []

    async def begin(
        self,
        user: str,
        text: str,
        *,
        instructions: str | None,
        client_tools: Sequence[ToolSpec] = (),
        continuation: Sequence[ChatMessage] = (),
    ) -> PreparedTurn:
        reply = self.replies[min(len(self.turns), len(self.replies) - 1)]
        calls: tuple[ToolCall, ...] = ()
        results = [m.content for m in continuation if m.role == "tool"]
        called = any(m.role == "tool" for m in continuation[-1:])
        if client_tools and (self.always_call or not called):
            arguments = json.dumps({"query": text})
            call_id = f"call_{len(self.turns) + 1}"
            calls = (ToolCall(call_id, client_tools[0].name, arguments),)
            reply = self.preface
        elif results:
            reply = f"The tool said: {' '.join(results)}."
        script = [word + " " for word in reply.split()]
        turn = FakeTurn(
            self,
            user,
            text,
            script,
            fail_after=self.fail_after,
            client_tools=tuple(client_tools),
            continuation=tuple(continuation),
            calls=calls,
        )
        self.turns.append(turn)
        return turn

    async def amend(self, user_id: str, history_id: int, heard: str) -> None:
        self.amended.append((history_id, heard))
        self.stored[history_id - 1].heard = heard

    async def remember(self, user: str, messages: Sequence[tuple[str, str]]) -> None:
        self.remembered.extend(messages)

    def understands(self, text: str) -> bool:
        return "times" in text


class FakeJudge:
    """The end-of-turn model: ``probability`` for every utterance."""

    def __init__(self, probability: float = 0.9) -> None:
        self.probability = probability
        self.calls = 0

    async def completion(self, audio: FloatArray) -> float:
        self.calls += 1
        await asyncio.sleep(0)
        return self.probability


class FakeSynthesizer:
    """0.25 s of tone per word at 16 kHz; ``fail_on`` raises for that sentence index."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.sentences: list[str] = []

    def sample_rate(self, engine: str | None) -> int:
        return RATE

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[Int16Array]:
        index = len(self.sentences)
        self.sentences.append(text)
        if self.fail_on == index:
            raise RuntimeError("onnxruntime: invalid input shape")
        words = len(text.split())
        return _chunks(words)


async def _chunks(words: int) -> AsyncIterator[Int16Array]:
    for _ in range(words):
        await asyncio.sleep(0)
        yield (tone(0.25) * 32767).astype(np.int16)


class FakeLimiter:
    def __init__(self, allow: int = 1000) -> None:
        self.allow = allow
        self.admitted: list[str] = []

    async def admit(self, user: str) -> None:
        if len(self.admitted) >= self.allow:
            raise RateLimited("too many turns; the limit is 1 per minute", retry_after=60)
        self.admitted.append(user)


def tone(seconds: float, rate: int = RATE) -> FloatArray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def silence(seconds: float, rate: int = RATE) -> FloatArray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def pcm(audio: FloatArray) -> bytes:
    return (audio * 32767).astype("<i2").tobytes()


@dataclass
class Rig:
    """A session on fake ports, with what it emitted."""

    session: VoiceSession
    clock: FakeClock
    transcriber: FakeTranscriber
    responder: FakeResponder
    synthesizer: FakeSynthesizer
    limiter: FakeLimiter
    events: list[SessionEvent] = field(default_factory=list)

    def collect(self) -> list[SessionEvent]:
        self.events.extend(self.session.pending_events())
        return self.events

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [event for event in self.collect() if isinstance(event, kind)]

    async def settle(self, rounds: int = 50) -> None:
        """Let every task run until nothing is left to do now."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def feed(self, audio: FloatArray, *, realtime: bool = True) -> None:
        """Send ``audio`` in 20 ms frames, the clock moving as a microphone's would."""
        step = int(FRAME_S * RATE)
        for start in range(0, len(audio), step):
            self.session.feed_audio(pcm(audio[start : start + step]))
            if realtime:
                self.clock.advance(FRAME_S)
            await self.settle(3)

    async def until(self, kind: type, *, count: int = 1, limit_s: float = 60.0) -> SessionEvent:
        """Let time pass (10 ms steps) until ``count`` events of ``kind`` were emitted."""
        deadline = self.clock.t + limit_s
        while self.clock.t < deadline:
            found = self.of(kind)
            if len(found) >= count:
                return found[count - 1]  # type: ignore[no-any-return]
            await self.settle(5)
            self.clock.advance(0.01)
        raise AssertionError(f"no {kind.__name__} event; got {self.collect()}")


def rig(
    *,
    transcriber: FakeTranscriber | None = None,
    responder: FakeResponder | None = None,
    synthesizer: FakeSynthesizer | None = None,
    limiter: FakeLimiter | None = None,
    judge: FakeJudge | None = None,
    options: SessionOptions | None = None,
) -> Rig:
    clock = FakeClock()
    transcriber = transcriber or FakeTranscriber()
    responder = responder or FakeResponder()
    synthesizer = synthesizer or FakeSynthesizer()
    limiter = limiter or FakeLimiter()
    ports = SessionPorts(
        transcriber=transcriber,
        responder=responder,
        synthesizer=synthesizer,
        limiter=limiter,
        judge=judge or FakeJudge(),
        clock=clock,
        detector=detector,
        offload=run_inline,
        observe=lambda event: None,
        max_command_length=1000,
        playout_lead_s=0.25,
    )
    options = options or SessionOptions(
        vad=TurnConfig(silence_ms=400, min_speech_ms=100, prefix_padding_ms=100)
    )
    session = VoiceSession(ports, user="ada", options=options)
    return Rig(session, clock, transcriber, responder, synthesizer, limiter)
