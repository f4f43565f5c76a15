"""One spoken reply, as an object: start it, interrupt it, ask what was heard.

A :class:`ReplyHandle` streams the assistant's reply, cuts it into sentences as the
text arrives, synthesizes each sentence as soon as it is complete and sends its audio
in frames paced by :class:`~ballsy.realtime.session.playout.Playout`. Interrupting it
(barge-in, client cancel) closes the reply stream — which stops LLM generation —,
drops the sentences not yet spoken, and still persists the turn with only the words
that were played. Any failure ends the reply as ``failed`` with an error code; what
was heard until then is stored. The handle always ends with one ``TurnEnded``. A
reply whose model called the client's functions ends, after whatever text came before
the calls, with ``FunctionCallsRequested`` (then its ``TurnEnded``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ballsy.errors import BallsyError
from ballsy.llm.base import ToolSpec
from ballsy.observability.logging import get_logger
from ballsy.observability.turns import TurnTimings
from ballsy.realtime.session.clock import elapsed_ms
from ballsy.realtime.session.events import (
    FunctionCallsRequested,
    Interrupted,
    ReplyAudio,
    ReplyDelta,
    ResponseStarted,
    SessionEvent,
    TurnEnded,
    TurnError,
    TurnStatus,
)
from ballsy.realtime.session.playout import Playout
from ballsy.realtime.session.ports import (
    Int16Array,
    PreparedTurn,
    SessionPorts,
    TurnInput,
    Voice,
)
from ballsy.realtime.session.resampling import StreamResampler
from ballsy.realtime.session.sentences import SentenceBuffer
from ballsy.scheduling import Lane, current_work, in_lane

log = get_logger("ballsy.realtime.reply")

FRAME_S = 0.1  # reply audio leaves in 100 ms frames


@dataclass(frozen=True, slots=True)
class ReplyStyle:
    """How one reply is made, fixed when its turn starts."""

    instructions: str | None
    speak: bool
    tools: tuple[ToolSpec, ...] = ()
    """The client's functions the model may call."""


def turn_error(exc: BaseException) -> TurnError:
    """What the client is told about a failure (never raw exception text)."""
    if isinstance(exc, BallsyError):
        return TurnError(exc.code, exc.message)
    return TurnError("internal_error", "the reply failed; the turn was ended")


class ReplyHandle:
    def __init__(
        self,
        ports: SessionPorts,
        *,
        turn_id: str,
        turn: PreparedTurn,
        style: ReplyStyle,
        voice: Voice,
        emit: Callable[[SessionEvent], None],
        confirmed_at: float,
        timings: TurnTimings,
        held: bool = False,
        asked: TurnInput | None = None,
    ) -> None:
        self.ports = ports
        self.clock = ports.clock
        self.turn_id = turn_id
        self.turn = turn
        self.style = style
        self.voice = voice
        self.asked = asked
        """What the turn answers (announcements: None), for a continuation after calls."""
        self._emit_now = emit
        self._held: list[SessionEvent] | None = [] if held else None
        """A speculative reply: its events wait here until :meth:`release`."""
        self._released = asyncio.Event()
        if not held:
            self._released.set()
        self._discarded = False
        self.confirmed_at = confirmed_at
        """Clock time when the user's turn was confirmed over."""
        self._timings = timings
        self._first_audio_ms: float | None = None
        self._tts_first_ms: float | None = None
        self.playout = Playout(lead_s=ports.playout_lead_s, clock=ports.clock)
        self._generated: list[str] = []
        self._task: asyncio.Task[TurnEnded] | None = None
        self.ended: TurnEnded | None = None
        self.full_text = ""
        self.history_id: int | None = None

    # --- control -----------------------------------------------------------------------

    def start(self) -> None:
        # A spoken reply's LLM work is on the path to first audio: its first clause goes
        # before text replies' (ballsy.llm.interleave); its speech sets its own lanes.
        lane = Lane.LEAD if self.style.speak else current_work().lane
        with in_lane(lane):
            self._task = asyncio.create_task(self._run())

    def emit(self, event: SessionEvent) -> None:
        if self._held is not None:
            self._held.append(event)
        else:
            self._emit_now(event)

    @property
    def held(self) -> bool:
        return self._held is not None

    def release(self, *, confirmed_at: float, timings: TurnTimings) -> None:
        """The speculative turn was confirmed: send what is ready, go on live."""
        held, self._held = self._held or [], None
        self.confirmed_at, self._timings = confirmed_at, timings
        for event in held:
            self._emit_now(event)
        self._released.set()

    def discard(self) -> None:
        """The speculation was wrong: stop, send nothing, store nothing."""
        self._discarded = True
        self._held = []
        self._released.set()
        self.interrupt()

    @property
    def done(self) -> bool:
        return self._task is None or self._task.done()

    def interrupt(self) -> None:
        """Stop now: generation and synthesis end, what was heard is persisted."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait(self) -> TurnEnded | None:
        """Until the reply has ended and been persisted."""
        if self._task is not None:
            await asyncio.wait({self._task})
        return self.ended

    @property
    def played_ms(self) -> int:
        return round(self.playout.played_s() * 1000)

    def heard_at(self, audio_end_ms: int) -> str:
        """The words heard when playback stopped at ``audio_end_ms``."""
        played_s = audio_end_ms / 1000
        if played_s >= self.playout.queued_s:
            return self.full_text
        return self.playout.played_text(played_s)

    @property
    def audio_ms(self) -> int:
        return round(self.playout.queued_s * 1000)

    # --- the reply -----------------------------------------------------------------------

    async def _run(self) -> TurnEnded:
        self.emit(ResponseStarted(self.turn_id))
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(sentences))
        status: TurnStatus = "completed"
        error: TurnError | None = None
        try:
            lane = Lane.LEAD  # the first sentence's speech goes before other work
            while (sentence := await sentences.get()) is not None:
                if self.style.speak:
                    with in_lane(lane):
                        await self._speak(sentence)
                lane = Lane.INTERACTIVE
            await producer
            self._request_calls()
        except asyncio.CancelledError:
            status = "cancelled"
        except Exception as exc:  # the turn's error boundary: anything ends it as failed
            status, error = "failed", turn_error(exc)
            if not isinstance(exc, BallsyError):
                log.exception("ballsy.realtime.reply_failed", turn_id=self.turn_id)
        finally:
            producer.cancel()  # closing the reply stream stops LLM generation
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer
        # Persisting must happen even if the session is being torn down.
        finish = asyncio.ensure_future(self._finish(status, error))
        try:
            return await asyncio.shield(finish)
        except asyncio.CancelledError:
            return await finish

    def _request_calls(self) -> None:
        calls = tuple(self.turn.client_calls)
        if calls and self.asked is not None:
            asked = self.asked
            self.emit(FunctionCallsRequested(self.turn_id, calls, asked.text, asked.continuation))

    async def _produce(self, sentences: asyncio.Queue[str | None]) -> None:
        buffer = SentenceBuffer()
        try:
            async for piece in self.turn.pieces():
                self._generated.append(piece)
                self.emit(ReplyDelta(self.turn_id, piece))
                for sentence in buffer.push(piece):
                    sentences.put_nowait(sentence)
                if not self._released.is_set() and not sentences.empty():
                    # Speculating: the first sentence is enough until the turn is
                    # confirmed; generating more would waste CPU if it is not.
                    await self._released.wait()
            for sentence in buffer.flush():
                sentences.put_nowait(sentence)
        finally:
            sentences.put_nowait(None)

    async def _speak(self, sentence: str) -> None:
        voice = self.voice
        synth = self.ports.synthesizer
        resampler = StreamResampler(synth.sample_rate(voice.engine), voice.output_rate)
        asked = self.clock.now()
        chunks = await synth.synthesize(sentence, voice)
        self.playout.begin_piece(sentence)
        frame = int(voice.output_rate * FRAME_S)
        pending = np.zeros(0, dtype=np.int16)
        async for pcm in chunks:
            if self._tts_first_ms is None:
                self._tts_first_ms = elapsed_ms(self.clock, asked)
            pending = np.concatenate([pending, resampler.process(pcm)])
            while len(pending) >= frame:
                await self._send_audio(pending[:frame])
                pending = pending[frame:]
        pending = np.concatenate([pending, resampler.flush()])
        if len(pending):
            await self._send_audio(pending)

    async def _send_audio(self, pcm: Int16Array) -> None:
        await self._released.wait()  # a speculative reply's audio waits for confirmation
        await self.playout.wait_for_slot(len(pcm) / self.voice.output_rate)
        if self._first_audio_ms is None:
            self._first_audio_ms = elapsed_ms(self.clock, self.confirmed_at)
        seq = round(self.playout.queued_s / FRAME_S)
        data = pcm.astype("<i2").tobytes()
        self.emit(ReplyAudio(self.turn_id, data, self.voice.output_rate, seq))

    def timings(self) -> TurnTimings:
        base = self._timings.merged(self.turn.stages)
        end_to_end = None
        if self._first_audio_ms is not None:
            end_to_end = round((base.eot_wait_ms or 0.0) + self._first_audio_ms, 1)
        return replace(
            base,
            tts_first_audio_ms=self._tts_first_ms,
            first_audio_ms=self._first_audio_ms,
            end_to_end_ms=end_to_end,
            total_ms=elapsed_ms(self.clock, self.confirmed_at),
        )

    async def _finish(self, status: TurnStatus, error: TurnError | None) -> TurnEnded:
        """Persist what was heard and report the reply's end."""
        full = "".join(self._generated).strip()
        if not self._released.is_set():
            await self._released.wait()  # speculative: stored only once it is confirmed
        if self._discarded:
            self.full_text = full
            self.ended = TurnEnded(self.turn_id, "cancelled", responded=False, full_text=full)
            return self.ended  # nobody heard it: nothing is stored or sent
        cut_short = status != "completed"
        heard = full
        if cut_short and self.style.speak:
            # Interrupted: the client drops its buffer, so only what played counts. Failed:
            # the client still plays all it was sent.
            sent = None if status == "cancelled" else self.playout.queued_s
            heard = self.playout.played_text(sent)
        if status == "cancelled":
            self.emit(Interrupted(self.turn_id, played_ms=self.played_ms, played_text=heard))
        timings = self.timings()
        history_id = None
        started = self.clock.now()
        try:
            history_id = await self.turn.finish(heard, interrupted=cut_short, timings=timings)
        except Exception:
            log.exception("ballsy.realtime.persist_failed", turn_id=self.turn_id)
        timings = replace(timings, persist_ms=elapsed_ms(self.clock, started))
        self.history_id, self.full_text = history_id, full
        self.ended = TurnEnded(
            turn_id=self.turn_id,
            status=status,
            responded=True,
            text=heard,
            full_text=full,
            handled_by=self.turn.handled_by,
            history_id=history_id,
            timings=timings,
            usage=dict(self.turn.usage),
            error=error,
        )
        self.emit(self.ended)
        return self.ended
