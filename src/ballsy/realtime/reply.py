"""One spoken reply: assistant text → sentences → TTS → paced audio → what was heard.

A :class:`ReplyRun` streams the assistant's reply, cuts it into sentences as tokens
arrive, synthesizes each sentence as soon as it is complete and sends its audio in
frames paced by :class:`~ballsy.realtime.playout.Playout`. Cancelling the task that
runs it (barge-in, client cancel) closes the LLM stream, drops the sentences not yet
spoken, and still persists the turn — with only the words that were played.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ballsy.assistant.service import Turn
from ballsy.errors import BallsyError
from ballsy.observability.logging import get_logger
from ballsy.realtime.events import (
    AudioChunk,
    Interrupted,
    ReplyDelta,
    ResponseDone,
    SessionError,
    SessionEvent,
)
from ballsy.realtime.playout import Playout
from ballsy.realtime.resampling import StreamResampler
from ballsy.realtime.sentences import SentenceBuffer
from ballsy.services import Services

log = get_logger("ballsy.realtime.reply")

FRAME_S = 0.1  # reply audio leaves in 100 ms frames
Int16Array = npt.NDArray[np.int16]
Status = Literal["completed", "cancelled", "failed"]


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """How one reply is made, fixed when its turn starts."""

    instructions: str | None
    speak: bool


@dataclass(frozen=True, slots=True)
class Voice:
    name: str | None
    speed: float
    engine: str | None
    output_rate: int


@dataclass(slots=True)
class SpokenReply:
    """A recent reply, kept so that the client can say how much of it was heard."""

    user_id: str
    playout: Playout
    full_text: str = ""
    history_id: int | None = None


class ReplyRun:
    def __init__(
        self,
        services: Services,
        *,
        turn_id: str,
        turn: Turn,
        style: ReplyStyle,
        voice: Voice,
        spoken: SpokenReply,
        emit: Callable[[SessionEvent], None],
        detected: float,
        timings: dict[str, float],
    ) -> None:
        self.services = services
        self.turn_id = turn_id
        self.turn = turn
        self.style = style
        self.voice = voice
        self.spoken = spoken
        self.emit = emit
        self.detected = detected
        """``perf_counter()`` when the user's turn was confirmed over."""
        self.timings = timings
        self._generated: list[str] = []

    async def run(self) -> None:
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(sentences))
        status: Status = "completed"
        try:
            while (sentence := await sentences.get()) is not None:
                if self.style.speak:
                    await self._speak(sentence)
            await producer
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except BallsyError as exc:
            status = "failed"
            self.emit(SessionError(code=exc.code, message=exc.message))
        finally:
            producer.cancel()  # closing the reply stream stops LLM generation
            with contextlib.suppress(asyncio.CancelledError, BallsyError):
                await producer
            await asyncio.shield(self._finish(status))

    async def _produce(self, sentences: asyncio.Queue[str | None]) -> None:
        buffer = SentenceBuffer()
        try:
            async for piece in self.services.assistant.reply(self.turn):
                self._generated.append(piece)
                self.emit(ReplyDelta(self.turn_id, piece))
                for sentence in buffer.push(piece):
                    sentences.put_nowait(sentence)
            for sentence in buffer.flush():
                sentences.put_nowait(sentence)
        finally:
            sentences.put_nowait(None)

    async def _speak(self, sentence: str) -> None:
        voice = self.voice
        speech = self.services.speech
        resampler = StreamResampler(speech.sample_rate_for(voice.engine), voice.output_rate)
        chunks = await speech.synthesize(
            sentence, voice=voice.name, speed=voice.speed, engine=voice.engine
        )
        playout = self.spoken.playout
        playout.begin_piece(sentence)
        frame = int(voice.output_rate * FRAME_S)
        pending = np.zeros(0, dtype=np.int16)
        async for pcm in chunks:
            pending = np.concatenate([pending, resampler.process(pcm)])
            while len(pending) >= frame:
                await self._send_audio(pending[:frame])
                pending = pending[frame:]
        pending = np.concatenate([pending, resampler.flush()])
        if len(pending):
            await self._send_audio(pending)

    async def _send_audio(self, pcm: Int16Array) -> None:
        playout = self.spoken.playout
        await playout.wait_for_slot(len(pcm) / self.voice.output_rate)
        if "first_audio_ms" not in self.timings:
            self.timings["first_audio_ms"] = elapsed_ms(self.detected)
            self.timings["end_to_end_ms"] = round(
                self.timings["vad_ms"] + self.timings["first_audio_ms"], 1
            )
        seq = round(playout.queued_s / FRAME_S)
        pcm_bytes = pcm.astype("<i2").tobytes()
        self.emit(AudioChunk(self.turn_id, pcm_bytes, self.voice.output_rate, seq))

    async def _finish(self, status: Status) -> None:
        """Persist what was heard and report the reply's end (runs even when cancelled)."""
        turn, playout = self.turn, self.spoken.playout
        full = "".join(self._generated).strip()
        interrupted = status == "cancelled"
        heard = playout.played_text() if interrupted and self.style.speak else full
        if interrupted:
            played_ms = round(playout.played_s() * 1000)
            self.emit(Interrupted(self.turn_id, played_ms=played_ms, played_text=heard))
        turn.timings.update(self.timings)
        history_id = None
        try:
            result = await self.services.assistant.finish(turn, heard, interrupted=interrupted)
            history_id = result.id
            self.spoken.history_id, self.spoken.full_text = history_id, full
        except Exception:
            log.exception("ballsy.realtime.persist_failed", turn_id=self.turn_id)
        self.emit(
            ResponseDone(
                turn_id=self.turn_id,
                status=status,
                text=heard,
                full_text=full,
                handled_by=f"{turn.handled_by}:{turn.handler}",
                history_id=history_id,
                timings=dict(turn.timings),
                usage=dict(turn.data.get("usage") or {}),
            )
        )
