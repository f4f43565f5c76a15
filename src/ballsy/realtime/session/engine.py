"""The conversation engine: one :class:`VoiceSession` per connection.

A session wires a :class:`~ballsy.realtime.session.listener.Listener` (audio → VAD →
turns and transcripts) to one :class:`~ballsy.realtime.session.reply.ReplyHandle` per
answer, and owns the policy between them: one turn at a time, a new turn or the
user's speech interrupts the reply in progress (barge-in), every turn ends with
exactly one ``TurnEnded`` whatever fails. Commands come in as method calls (or typed
:mod:`~ballsy.realtime.session.commands` through :meth:`VoiceSession.handle`); events
go out through one queue that the connection's own task drains, so no protocol code
ever runs inside the engine's tasks.

Models are the process's, reached through :class:`~ballsy.realtime.session.ports.SessionPorts`;
a session holds only its VAD state, the current turn's audio and one reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from typing import Any

from ballsy.assistant.text import clean_command_text
from ballsy.errors import BallsyError, InvalidInput, NotFound, RateLimited
from ballsy.llm.base import ChatMessage, ToolSpec
from ballsy.observability.logging import get_logger
from ballsy.observability.turns import TurnTimings
from ballsy.realtime.session.budget import BudgetPolicy, InputBudget
from ballsy.realtime.session.clock import elapsed_ms
from ballsy.realtime.session.commands import (
    AppendAudio,
    ClearInput,
    CommitInput,
    Configure,
    Interrupt,
    SessionCommand,
    SubmitText,
    Truncate,
)
from ballsy.realtime.session.events import (
    Announcement,
    SessionEvent,
    SpeculationEnded,
    TranscriptFinal,
    TurnEnded,
)
from ballsy.realtime.session.listener import Guess, Listener, Utterance, new_turn_id
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.ports import (
    AnnouncedTurn,
    PreparedTurn,
    SessionPorts,
    TurnInput,
    Voice,
)
from ballsy.realtime.session.reply import FRAME_S, ReplyHandle, ReplyStyle, turn_error
from ballsy.scheduling import work_for

log = get_logger("ballsy.realtime.session")

REMEMBERED_REPLIES = 16  # replies a client may still truncate
LIMITED_PAUSE_S = 10.0  # no speculative transcription this long after a refused turn


class VoiceSession:
    def __init__(
        self,
        ports: SessionPorts,
        *,
        user: str,
        options: SessionOptions | None = None,
        budget: BudgetPolicy | None = None,
    ) -> None:
        self.ports = ports
        self.id = uuid.uuid4().hex
        self.user = user
        # Made on the connection's task, which creates every task of the session: they
        # all take their turn on the shared models as this user's (ballsy.scheduling).
        work_for(user)
        self.options = options or SessionOptions()
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._budget = InputBudget(ports.clock, budget)
        self._listener = self._new_listener()
        self._turn: asyncio.Task[None] | None = None
        self._reply: ReplyHandle | None = None
        self._replies: OrderedDict[str, ReplyHandle] = OrderedDict()
        self._limited_at: float | None = None
        self._speculation: _Speculation | None = None
        self._closing: asyncio.Future[None] | None = None  # a replaced listener's close
        self.closed = False

    def _new_listener(self) -> Listener:
        return Listener(
            self.ports,
            self.options,
            self._budget,
            emit=self._emit,
            on_speech=self._on_speech,
            on_utterance=self._on_utterance,
            may_speculate=self._may_speculate,
            on_guess=self._on_guess,
            on_guess_dropped=self._on_guess_dropped,
        )

    # --- events out --------------------------------------------------------------------

    def _emit(self, event: SessionEvent) -> None:
        self.ports.observe(event)
        self._events.put_nowait(event)

    async def next_event(self) -> SessionEvent:
        return await self._events.get()

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Every event, in order, for the connection's task to render."""
        while True:
            yield await self._events.get()

    def pending_events(self) -> list[SessionEvent]:
        """The events queued now (without waiting)."""
        drained: list[SessionEvent] = []
        while not self._events.empty():
            drained.append(self._events.get_nowait())
        return drained

    # --- state -------------------------------------------------------------------------

    @property
    def output_rate(self) -> int:
        return self.options.output_rate or self.ports.synthesizer.sample_rate(
            self.options.tts_engine
        )

    @property
    def responding(self) -> bool:
        """A turn is in progress (being transcribed, answered or played)."""
        return self._turn is not None and not self._turn.done()

    @property
    def input_dropped_ms(self) -> int:
        return round(self._budget.dropped_s * 1000)

    # --- commands in ---------------------------------------------------------------------

    async def handle(self, command: SessionCommand) -> str | None:
        """Run one typed command; returns a turn id or text where the command has one."""
        match command:
            case AppendAudio(pcm=pcm):
                self.feed_audio(pcm)
            case CommitInput():
                return await self.commit()
            case ClearInput():
                self.clear_input()
            case SubmitText():
                return self.submit_text(
                    command.text,
                    respond=command.respond,
                    instructions=command.instructions,
                    speak=command.speak,
                    continuation=command.continuation,
                    tools=command.tools,
                )
            case Interrupt():
                self.interrupt()
            case Truncate(turn_id=turn_id, audio_end_ms=end_ms):
                return await self.truncate(turn_id, end_ms)
            case Configure(options=options):
                self.update(options)
        return None

    def feed_audio(self, pcm: bytes) -> bool:
        """PCM16 mono at ``input_rate``; False when the frame was dropped (overrun)."""
        return self._listener.feed(pcm)

    async def commit(self) -> str | None:
        """End the user's turn now (manual turn-taking): its turn id, None without audio."""
        return await self._listener.commit()

    def clear_input(self) -> None:
        self._listener.clear()

    def submit_text(
        self,
        text: str,
        *,
        respond: bool = True,
        instructions: str | None = None,
        speak: bool | None = None,
        continuation: tuple[ChatMessage, ...] = (),
        tools: tuple[ToolSpec, ...] | None = None,
    ) -> str:
        """A typed turn; returns its turn id. Empty or oversized text is refused here.
        ``instructions``, ``speak`` and ``tools`` override the session's options for this
        reply; ``continuation`` continues a turn whose model called the client's
        functions (:class:`~ballsy.realtime.session.ports.TurnInput`)."""
        cleaned = clean_command_text(text, max_length=self.ports.max_command_length)
        style = ReplyStyle(
            instructions=instructions or self.options.instructions,
            speak=self.options.speak if speak is None else speak,
            tools=self.options.client_tools if tools is None else tools,
        )
        turn_id = new_turn_id()
        asked = TurnInput(cleaned, continuation)
        self._start_turn(turn_id, self._typed(turn_id, asked, respond, style))
        return turn_id

    def announce(self, text: str, *, kind: str = "notice") -> str:
        """Speak ``text`` unasked (a due timer, a reminder): after the turn in progress,
        as a reply of its own that the user can barge in on. Nothing is stored: the
        caller keeps its own record. Returns the announcement's turn id."""
        turn_id = new_turn_id()
        style = ReplyStyle(instructions=None, speak=self.options.speak)
        self._queue_turn(turn_id, self._announce(turn_id, text, kind, style))
        return turn_id

    def interrupt(self) -> None:
        """Barge-in or client cancel: stop the turn now (what was heard is still stored)."""
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()

    def update(self, options: SessionOptions) -> None:
        """Apply new options (rate, VAD or turn-taking changes restart listening)."""
        old, self.options = self.options, options
        if _listening(old) != _listening(options):
            stale = self._listener
            self._listener = self._new_listener()
            self._closing = asyncio.ensure_future(stale.close())
        else:
            self._listener.options = options

    async def truncate(self, turn_id: str, audio_end_ms: int) -> str:
        """The client played only the first ``audio_end_ms`` of ``turn_id``'s reply: store
        that as what was heard (a reply still going is stopped first). Returns the text."""
        reply = self._replies.get(turn_id)
        if reply is not None and not reply.done:
            self.interrupt()
            await reply.wait()  # its finish persists the reply first
        if reply is None or reply.history_id is None:
            raise NotFound("no reply with that id in this session")
        if audio_end_ms < 0 or audio_end_ms > reply.audio_ms + FRAME_S * 1000:
            raise InvalidInput(
                f"audio_end_ms {audio_end_ms} is outside the reply's {reply.audio_ms} ms of audio"
            )
        heard = reply.heard_at(audio_end_ms)
        await self.ports.responder.amend(reply.turn.user_id, reply.history_id, heard)
        return heard

    async def close(self) -> None:
        """Cancel everything this session started; waits until the reply is persisted."""
        self.closed = True
        self._drop_speculation()
        await self._listener.close()
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._turn

    # --- listener callbacks --------------------------------------------------------------

    def _on_speech(self) -> None:
        if self.options.barge_in and self.responding:
            self.interrupt()

    def _on_utterance(self, utterance: Utterance) -> None:
        speculation = self._speculation
        if speculation is not None and speculation.turn_id == utterance.turn_id:
            self._speculation = None  # the pause ended the turn: the held reply is its own
        else:
            self._drop_speculation()
            speculation = None
        self._start_turn(utterance.turn_id, self._spoken(utterance, speculation))

    # --- speculative replies -------------------------------------------------------------

    def _on_guess(self, guess: Guess) -> None:
        """A pause: start answering what was said so far, holding everything back."""
        options = self.options
        if not (options.speculative_reply and options.auto_respond) or self.closed:
            return
        if self.responding:
            return  # one turn at a time: a reply still playing is not overtaken
        self._drop_speculation()
        style = ReplyStyle(options.instructions, options.speak, options.client_tools)
        work = asyncio.create_task(self._speculate(guess, style))
        self._speculation = _Speculation(guess.turn_id, work, self.ports.clock.now())

    async def _speculate(self, guess: Guess, style: ReplyStyle) -> ReplyHandle | None:
        transcript = await asyncio.shield(guess.transcript)
        text = transcript.text.strip()
        if not text or len(text) > self.ports.max_command_length:
            return None  # the turn itself will say why
        asked = TurnInput(text)
        turn = await self._begin(asked, style)
        reply = self._reply_handle(guess.turn_id, turn, style, held=True, asked=asked)
        reply.start()
        return reply

    def _on_guess_dropped(self, guess: Guess) -> None:
        speculation = self._speculation
        if speculation is not None and speculation.turn_id == guess.turn_id:
            self._drop_speculation()

    def _drop_speculation(self) -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            speculation.drop(self._emit, self.ports.clock.now())

    def _may_speculate(self) -> bool:
        limited = self._limited_at
        return limited is None or self.ports.clock.now() - limited > LIMITED_PAUSE_S

    # --- turns ---------------------------------------------------------------------------

    def _queue_turn(self, turn_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Start ``work`` as a turn once the one in progress has ended."""
        previous = self._turn
        self._turn = asyncio.create_task(self._guarded(turn_id, previous, work))

    def _start_turn(self, turn_id: str, work: Coroutine[Any, Any, None]) -> None:
        """One turn at a time: a new one interrupts the one in progress (or, with
        ``queue_turns``, waits for it)."""
        previous = self._turn
        if not self.options.queue_turns:
            self.interrupt()
        self._turn = asyncio.create_task(self._guarded(turn_id, previous, work))

    async def _guarded(
        self, turn_id: str, previous: asyncio.Task[None] | None, work: Coroutine[Any, Any, None]
    ) -> None:
        """The turn's error boundary: whatever happens, one ``TurnEnded`` is emitted."""
        try:
            if previous is not None and not previous.done():
                # The interrupted turn persists what was heard before this one begins.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.shield(previous)
            await work
        except asyncio.CancelledError:
            work.close()
            await self._end_interrupted(turn_id)
        except Exception as exc:
            work.close()
            if not isinstance(exc, BallsyError):
                log.exception("ballsy.realtime.turn_failed", turn_id=turn_id)
            if isinstance(exc, RateLimited):
                self._limited_at = self.ports.clock.now()
            self._emit(
                TurnEnded(turn_id=turn_id, status="failed", responded=False, error=turn_error(exc))
            )

    async def _end_interrupted(self, turn_id: str) -> None:
        reply = self._reply if self._reply is not None and self._reply.turn_id == turn_id else None
        if reply is None:
            self._emit(TurnEnded(turn_id=turn_id, status="cancelled", responded=False))
            return
        reply.interrupt()
        await reply.wait()

    async def _spoken(self, utterance: Utterance, speculation: _Speculation | None) -> None:
        try:
            await self._answer_spoken(utterance, speculation)
        except BaseException:
            if speculation is not None:  # failed or interrupted before it was adopted
                speculation.drop(self._emit, self.ports.clock.now())
            raise

    async def _answer_spoken(self, utterance: Utterance, speculation: _Speculation | None) -> None:
        confirmed = self.ports.clock.now()
        timings = TurnTimings(
            eot_wait_ms=utterance.eot_wait_ms, turn_decision_ms=utterance.decision_ms
        )
        # The turn counts against the user's limit before any transcription is spent on it.
        await self.ports.limiter.admit(self.user)
        transcript = await utterance.transcript()
        timings = replace(
            timings,
            transcript_wait_ms=elapsed_ms(self.ports.clock, confirmed),
            transcription_ms=round(transcript.seconds * 1000, 1),
        )
        text = transcript.text.strip()
        self._emit(TranscriptFinal(utterance.turn_id, text, transcript.language))
        respond = self.options.auto_respond
        options = self.options
        style = ReplyStyle(options.instructions, options.speak, options.client_tools)
        if not text or not respond:
            self._emit(
                TurnEnded(
                    turn_id=utterance.turn_id, status="completed", responded=False, timings=timings
                )
            )
            return
        held = await speculation.take(self._emit, confirmed) if speculation is not None else None
        if held is not None:  # answered already: what is ready leaves at once
            self._adopt(held)
            held.release(confirmed_at=confirmed, timings=timings)
            await held.wait()
            return
        await self._respond(utterance.turn_id, TurnInput(text), style, confirmed, timings)

    async def _announce(self, turn_id: str, text: str, kind: str, style: ReplyStyle) -> None:
        self._emit(Announcement(turn_id, text, kind))
        await self._speak(turn_id, AnnouncedTurn(self.user, text, kind), style)

    async def _typed(
        self, turn_id: str, asked: TurnInput, respond: bool, style: ReplyStyle
    ) -> None:
        confirmed = self.ports.clock.now()
        if not respond:
            self._emit(TurnEnded(turn_id=turn_id, status="completed", responded=False))
            return
        await self.ports.limiter.admit(self.user)
        await self._respond(turn_id, asked, style, confirmed, TurnTimings())

    async def _begin(self, asked: TurnInput, style: ReplyStyle) -> PreparedTurn:
        return await self.ports.responder.begin(
            self.user,
            asked.text,
            instructions=style.instructions,
            client_tools=style.tools,
            continuation=asked.continuation,
        )

    async def _respond(
        self,
        turn_id: str,
        asked: TurnInput,
        style: ReplyStyle,
        confirmed: float,
        timings: TurnTimings,
    ) -> None:
        turn = await self._begin(asked, style)
        await self._speak(turn_id, turn, style, confirmed, timings, asked=asked)

    async def _speak(
        self,
        turn_id: str,
        turn: PreparedTurn,
        style: ReplyStyle,
        confirmed: float | None = None,
        timings: TurnTimings | None = None,
        asked: TurnInput | None = None,
    ) -> None:
        reply = self._reply_handle(
            turn_id, turn, style, confirmed=confirmed, timings=timings, asked=asked
        )
        self._adopt(reply)
        reply.start()
        await reply.wait()

    def _reply_handle(
        self,
        turn_id: str,
        turn: PreparedTurn,
        style: ReplyStyle,
        *,
        confirmed: float | None = None,
        timings: TurnTimings | None = None,
        held: bool = False,
        asked: TurnInput | None = None,
    ) -> ReplyHandle:
        options = self.options
        voice = Voice(
            name=options.voice,
            speed=options.speed or 1.0,
            engine=options.tts_engine,
            output_rate=self.output_rate,
        )
        return ReplyHandle(
            self.ports,
            turn_id=turn_id,
            turn=turn,
            style=style,
            voice=voice,
            emit=self._emit,
            confirmed_at=self.ports.clock.now() if confirmed is None else confirmed,
            timings=timings or TurnTimings(),
            held=held,
            asked=asked,
        )

    def _adopt(self, reply: ReplyHandle) -> None:
        """``reply`` is this turn's: barge-in, truncate and close reach it."""
        self._reply = reply
        self._replies[reply.turn_id] = reply
        while len(self._replies) > REMEMBERED_REPLIES:
            self._replies.popitem(last=False)


def _listening(options: SessionOptions) -> tuple[object, ...]:
    """The options a listener is built with: changing one restarts listening."""
    return (
        options.input_rate,
        options.vad,
        options.server_vad,
        options.partial_transcripts,
        options.turn_mode,
        options.candidate_ms,
        options.waits,
    )


class _Speculation:
    """A reply being prepared on a guess, until the turn is confirmed or dropped."""

    def __init__(self, turn_id: str, work: asyncio.Task[ReplyHandle | None], at: float) -> None:
        self.turn_id = turn_id
        self.work = work
        self.started = at
        self.settled = False

    async def take(self, emit: Callable[[SessionEvent], None], now: float) -> ReplyHandle | None:
        """The held reply for the confirmed turn (None when there is none to use)."""
        try:
            reply = await asyncio.shield(self.work)
        except Exception:
            reply = None  # answered the normal way; that path reports the error
        self.settled = True
        emit(SpeculationEnded(self.turn_id, used=reply is not None, seconds=now - self.started))
        return reply

    def drop(self, emit: Callable[[SessionEvent], None], now: float) -> None:
        """Wrong guess: the reply is stopped and nothing of it is sent or stored."""
        if self.settled:
            return
        self.settled = True
        emit(SpeculationEnded(self.turn_id, used=False, seconds=now - self.started))

        def discard(work: asyncio.Task[ReplyHandle | None]) -> None:
            if not work.cancelled() and work.exception() is None and work.result() is not None:
                work.result().discard()  # type: ignore[union-attr]

        if self.work.done():
            discard(self.work)
        else:
            self.work.add_done_callback(discard)
            self.work.cancel()
