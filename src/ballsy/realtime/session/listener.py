"""The listening half of a voice session: audio in, turns and transcripts out.

Audio arrives as PCM16 frames at the client's rate. Each frame is checked against the
input budget (:mod:`~ballsy.realtime.session.budget`), resampled to 16 kHz and queued;
one task per listener drains the queue through the VAD off the event loop, so a
burst of frames never blocks other sockets. When the user pauses, the listener starts
transcribing what was said so far (a *speculative* transcript): if the pause turns
out to end the turn, the transcript is nearly ready; if they speak on, the guess is
dropped.

There is at most one transcription in flight per listener — partial, speculative or
final. A guess that was dropped keeps running on its inference thread (a model call
cannot be stopped half-way), so the next one waits for it instead of piling up work
and admission slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ballsy.errors import InvalidInput
from ballsy.realtime.session.budget import InputBudget
from ballsy.realtime.session.events import (
    InputCommitted,
    InputOverrun,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptPartial,
)
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.ports import FloatArray, SessionPorts, Transcription
from ballsy.realtime.session.resampling import StreamResampler
from ballsy.realtime.session.turns import Verdict, verdict
from ballsy.scheduling import Lane, in_lane
from ballsy.speech.vad import VoiceOffset, VoiceOnset

VAD_RATE = 16_000
PARTIAL_EVERY_S = 1.0
SPECULATE_AFTER_S = 0.2
"""Pause before a speculative transcription starts (capped at half the end silence)."""


def new_turn_id() -> str:
    return f"turn_{uuid.uuid4().hex[:16]}"


@dataclass(slots=True)
class Utterance:
    """A finished user turn in audio; its transcript may already be on its way."""

    turn_id: str
    audio: FloatArray
    eot_wait_ms: float
    """Audio time from the end of speech to the end-of-turn decision (0 for commits)."""
    transcript: Callable[[], Awaitable[Transcription]]
    speculative: bool = False
    """The transcript is the guess started during the pause."""
    verdict: Verdict | None = None
    """The semantic end-of-turn decision that ended it (None: silence or a commit)."""
    decision_ms: float | None = None
    """How long the end-of-turn model took to hear the pause."""


@dataclass(slots=True)
class Guess:
    """What the listener works out during a pause: a transcript and, in semantic mode,
    whether the utterance sounds finished."""

    turn_id: str
    """The turn this becomes if the pause ends it."""
    transcript: asyncio.Task[Transcription]
    judgement: asyncio.Task[tuple[float, float]] | None = None
    """(probability, seconds) from the end-of-turn model."""
    verdict: Verdict | None = None
    decision_ms: float | None = None

    def decide(self, understands: Callable[[str], bool]) -> Verdict | None:
        """The verdict once both opinions are in (None while either is missing)."""
        if self.verdict is not None or self.judgement is None:
            return self.verdict
        if not (self.transcript.done() and self.judgement.done()):
            return None
        if self.transcript.cancelled() or self.transcript.exception() is not None:
            self.verdict = Verdict.UNSURE  # the turn's own transcription will report it
            return self.verdict
        if self.judgement.cancelled() or self.judgement.exception() is not None:
            probability, seconds = 0.0, 0.0  # no model opinion: the words decide
        else:
            probability, seconds = self.judgement.result()
        text = self.transcript.result().text
        self.verdict = verdict(probability, text, understood=understands(text))
        self.decision_ms = round(seconds * 1000, 1)
        return self.verdict


_Marker = Literal["commit", "wake"]


class Listener:
    def __init__(
        self,
        ports: SessionPorts,
        options: SessionOptions,
        budget: InputBudget,
        *,
        emit: Callable[[SessionEvent], None],
        on_speech: Callable[[], None],
        on_utterance: Callable[[Utterance], None],
        may_speculate: Callable[[], bool] = lambda: True,
        on_guess: Callable[[Guess], None] = lambda guess: None,
        on_guess_dropped: Callable[[Guess], None] = lambda guess: None,
    ) -> None:
        self.ports = ports
        self.options = options
        self.budget = budget
        self.emit = emit
        self.on_speech = on_speech
        self.on_utterance = on_utterance
        self.may_speculate = may_speculate
        self.on_guess = on_guess
        self.on_guess_dropped = on_guess_dropped
        self.semantic = options.turn_mode == "semantic" and options.server_vad
        # Semantic mode: VAD alone ends a turn only after the longest wait; the verdict
        # at a candidate pause usually ends it much sooner.
        vad = (
            replace(options.vad, silence_ms=options.waits.max_ms) if self.semantic else options.vad
        )
        self._detector = ports.detector(vad)
        self._to_vad = StreamResampler(options.input_rate, VAD_RATE)
        self._inbox: asyncio.Queue[FloatArray | tuple[_Marker, asyncio.Future[str | None] | None]]
        self._inbox = asyncio.Queue()
        self._manual: list[FloatArray] = []
        self._manual_s = 0.0
        self._speech_s = 0.0  # speech heard in the current turn, for partials
        self._partial_at_s = 0.0
        self._inflight: asyncio.Task[Transcription] | None = None
        self._guess: Guess | None = None
        candidate_s = options.candidate_ms / 1000
        self._speculate_after_s = (
            candidate_s if self.semantic else min(candidate_s, options.vad.silence_ms / 2000)
        )
        self._worker: asyncio.Task[None] | None = None
        self.closed = False

    # --- audio in ----------------------------------------------------------------------

    def feed(self, pcm: bytes) -> bool:
        """PCM16 mono at ``input_rate``; False when the frame was dropped (overrun)."""
        if len(pcm) % 2:
            raise InvalidInput("PCM16 audio must have an even number of bytes")
        if self.closed or not pcm:
            return False
        seconds = len(pcm) / 2 / self.options.input_rate
        manual = not self.options.server_vad
        admission = self.budget.admit(
            seconds, head_start_s=self.options.vad.max_turn_s if manual else None
        )
        if not admission.accepted:
            if admission.close:
                self.closed = True  # asked once; the connection closes, nothing more is heard
            if admission.notify or admission.close:
                dropped = round(self.budget.dropped_s * 1000)
                self.emit(InputOverrun(dropped_ms=dropped, close=admission.close))
            return False
        samples = np.frombuffer(pcm, dtype="<i2")
        audio = self._to_vad.process(samples).astype(np.float32) / 32768.0
        if manual:
            self._manual.append(audio)
            self._manual_s += len(audio) / VAD_RATE
            while self._manual_s > self.options.vad.max_turn_s and len(self._manual) > 1:
                oldest = self._manual.pop(0)  # bounded: keep the newest max_turn_s
                self._manual_s -= len(oldest) / VAD_RATE
            return True
        self._inbox.put_nowait(audio)
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
        return True

    async def commit(self) -> str | None:
        """End the user's turn now: its turn id, or None when there is no audio.

        With server VAD the audio already queued is heard first, then a turn in progress
        is closed; in manual mode the buffer becomes the turn.
        """
        if self.options.server_vad:
            done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._inbox.put_nowait(("commit", done))
            if self._worker is None:
                self._worker = asyncio.create_task(self._drain())
            return await done
        if not self._manual:
            return None
        audio = np.concatenate(self._manual)
        self._manual, self._manual_s = [], 0.0
        turn_id = new_turn_id()
        self.emit(InputCommitted(turn_id, audio_ms=round(len(audio) / VAD_RATE * 1000)))
        self.on_utterance(Utterance(turn_id, audio, 0.0, transcript=lambda: self.transcribe(audio)))
        return turn_id

    def clear(self) -> None:
        """Forget buffered and queued audio (a turn in progress is dropped too)."""
        self._manual, self._manual_s = [], 0.0
        while not self._inbox.empty():
            item = self._inbox.get_nowait()
            if isinstance(item, tuple) and item[1] is not None:
                item[1].set_result(None)
        self._detector.reset()
        self._drop_guess()

    # --- VAD, off the event loop ---------------------------------------------------------

    async def _drain(self) -> None:
        while not self.closed:
            item = await self._inbox.get()
            if isinstance(item, tuple):
                marker, done = item
                if marker == "commit" and done is not None:
                    done.set_result(self._close_turn())
                else:
                    self._after_audio()  # a verdict came in between frames
                continue
            audio = item
            if self._detector.speaking:
                self._speech_s += len(audio) / VAD_RATE
            events = await self.ports.offload(functools.partial(self._detector.feed, audio))
            if self.closed:
                return
            for event in events:
                if isinstance(event, VoiceOnset):
                    self._on_speech_started(event.at_s)
                else:
                    self._on_speech_stopped(event)
            self._after_audio()

    def _close_turn(self) -> str | None:
        turn_id = None
        for event in self._detector.flush():
            if isinstance(event, VoiceOffset):
                turn_id = self._on_speech_stopped(event)
        return turn_id

    def _on_speech_started(self, at_s: float) -> None:
        self._speech_s, self._partial_at_s = 0.0, 0.0
        self.emit(SpeechStarted(audio_ms=round(at_s * 1000)))
        self.on_speech()

    def _on_speech_stopped(self, event: VoiceOffset) -> str:
        guess, self._guess = self._guess, None
        turn_id = guess.turn_id if guess is not None else new_turn_id()
        self.emit(
            SpeechStopped(
                audio_ms=round(event.at_s * 1000),
                turn_id=turn_id,
                started_ms=round(event.started_at_s * 1000),
            )
        )
        eot_wait_ms = round((self._detector.time_s - event.at_s) * 1000, 1)
        audio = event.audio
        if guess is not None:
            task = guess.transcript
            utterance = Utterance(
                turn_id,
                audio,
                eot_wait_ms,
                transcript=lambda: _shielded(task),
                speculative=True,
                verdict=guess.verdict,
                decision_ms=guess.decision_ms,
            )
        else:
            utterance = Utterance(
                turn_id, audio, eot_wait_ms, transcript=lambda: self.transcribe(audio)
            )
        self.on_utterance(utterance)
        return turn_id

    def _after_audio(self) -> None:
        """Speculate on a pause, drop a guess when speech resumes, or send a partial."""
        detector = self._detector
        quiet = detector.trailing_silence_s
        if not detector.speaking:
            return
        if quiet == 0.0:
            self._drop_guess()  # they spoke on: the guess is stale (it finishes unseen)
            self._maybe_partial()
            return
        guess = self._guess
        if guess is None:
            if quiet >= self._speculate_after_s and self._speculable():
                self._start_guess(detector.turn_audio())
            return
        if not self.semantic:
            return
        decided = guess.decide(self.ports.responder.understands)
        if decided is not None and quiet * 1000 >= self.options.waits.silence_ms(decided):
            self._close_turn()

    def _start_guess(self, audio: FloatArray) -> None:
        guess = Guess(turn_id=new_turn_id(), transcript=self._start(audio))
        if self.semantic:
            guess.judgement = asyncio.create_task(self._judge(audio))
            guess.judgement.add_done_callback(_retrieve)
            for task in (guess.transcript, guess.judgement):
                task.add_done_callback(self._wake)
        self._guess = guess
        self.on_guess(guess)

    async def _judge(self, audio: FloatArray) -> tuple[float, float]:
        started = time.perf_counter()
        probability = await self.ports.judge.completion(audio)
        return probability, time.perf_counter() - started

    def _wake(self, _task: asyncio.Task[object]) -> None:
        if not self.closed:
            self._inbox.put_nowait(("wake", None))

    def _drop_guess(self) -> None:
        guess, self._guess = self._guess, None
        if guess is not None:
            if guess.judgement is not None:
                guess.judgement.cancel()
            self.on_guess_dropped(guess)

    def _maybe_partial(self) -> None:
        if not self.options.partial_transcripts or not self._idle():
            return
        if self._speech_s - self._partial_at_s < PARTIAL_EVERY_S:
            return
        self._partial_at_s = self._speech_s
        task = self._start(self._detector.turn_audio(), Lane.INTERACTIVE)
        task.add_done_callback(self._partial_done)

    def _partial_done(self, task: asyncio.Task[Transcription]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        text = task.result().text.strip()
        if text and self._detector.speaking and not self.closed:
            self.emit(TranscriptPartial(text=text))

    # --- transcription: one at a time --------------------------------------------------

    def _speculable(self) -> bool:
        return self._idle() and self.may_speculate()

    def _idle(self) -> bool:
        return self._inflight is None or self._inflight.done()

    def _start(self, audio: FloatArray, lane: Lane = Lane.LEAD) -> asyncio.Task[Transcription]:
        """A turn's transcript (final or speculative) is on the path to the reply's first
        audio: it goes before other work on the shared models; a partial does not."""
        with in_lane(lane):
            task = asyncio.create_task(self.ports.transcriber.transcribe(audio))
        task.add_done_callback(_retrieve)
        self._inflight = task
        return task

    async def transcribe(self, audio: FloatArray) -> Transcription:
        """Transcribe ``audio`` once nothing else is being transcribed for this listener.

        Cancelling the caller leaves the transcription to finish on its thread; it still
        counts as in flight until then.
        """
        while not self._idle():
            assert self._inflight is not None
            await asyncio.wait({self._inflight})
        return await _shielded(self._start(audio))

    async def close(self) -> None:
        self.closed = True
        self.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


async def _shielded(task: asyncio.Task[Transcription]) -> Transcription:
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Task[Transcription] | asyncio.Task[tuple[float, float]]) -> None:
    """Mark an abandoned transcription's error as seen (its waiter reports it)."""
    if not task.cancelled():
        task.exception()
