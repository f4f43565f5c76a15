"""One Wyoming transcription: audio in, streamed transcript chunks and a transcript out.

The audio is heard by the realtime engine itself: a transcription-only
:class:`~ballsy.realtime.session.engine.VoiceSession` (server VAD, no replies, turns
queued rather than interrupted) whose listener resamples, trims silence with Silero
VAD, transcribes each utterance — speculatively during pauses — and sends partial
transcripts while the user is still speaking. Its events become ``transcript-chunk``
events (:class:`~ballsy.wyoming.chunks.TranscriptChunks`).

At ``audio-stop`` the answer is the one utterance's transcript, usually ready by then
(it was guessed during the pause before the client's own VAD stopped the stream).
When the request held several utterances, their speech — silence cut out — is
transcribed once more as one piece, because Whisper hears a short phrase far better
with the words around it; the chunks were the preview, this is the record.

Audio is paced by :class:`~ballsy.wyoming.limits.AudioPacer` before it reaches the
session, so a sender faster than the budget is slowed down, never cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.event import Event

from ballsy.errors import AudioTooLong
from ballsy.observability import metrics
from ballsy.realtime.session.budget import BudgetPolicy
from ballsy.realtime.session.clock import Clock
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import (
    InputOverrun,
    SessionEvent,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
)
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.ports import FloatArray, SessionPorts, Transcription
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import TranscribeOptions
from ballsy.speech.vad import TurnConfig
from ballsy.wyoming.audio import LISTEN_RATE, Int16Array, PcmConverter, PcmFormat
from ballsy.wyoming.chunks import TranscriptChunks
from ballsy.wyoming.errors import RequestFailed
from ballsy.wyoming.limits import AudioPacer, WyomingLimits

SETTLE_POLL_S = 0.05
SEGMENT_SILENCE_MS = 800
"""Pauses shorter than this stay inside one utterance (better chunks, fewer fragments);
the client's own VAD ends the request."""
MERGE_MAX_S = 30.0
"""Speech re-transcribed as one piece at most (one Whisper window); longer requests
keep their utterances' transcripts."""
MERGE_KEEP_S = 0.75
"""Silence kept on each side of speech in the merged clip: Silero misses soft onsets
(JFK's "ask" in "ask not"), Whisper does not; longer pauses are shortened to twice this."""


class SpeechRecord:
    """The request's 16 kHz audio and where its speech was, to transcribe it once more."""

    def __init__(self, max_s: float = MERGE_MAX_S) -> None:
        self.max_samples = int(2 * max_s * LISTEN_RATE)  # speech and its pauses
        self._chunks: list[Int16Array] = []
        self._samples = 0
        self.complete = True
        self.spans: list[tuple[int, int]] = []

    def add(self, pcm: Int16Array) -> None:
        if not self.complete:
            return
        if self._samples + len(pcm) > self.max_samples:
            self.complete, self._chunks = False, []  # too long to merge: stop keeping it
            return
        self._chunks.append(pcm)
        self._samples += len(pcm)

    def spoke(self, started_ms: int, stopped_ms: int) -> None:
        self.spans.append((started_ms * LISTEN_RATE // 1000, stopped_ms * LISTEN_RATE // 1000))

    def merged_speech(self) -> FloatArray | None:
        """The utterances in one clip, long pauses shortened; None when there is one
        utterance or less, or more speech than one Whisper window."""
        if not self.complete or len(self.spans) < 2:
            return None
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        keep = int(MERGE_KEEP_S * LISTEN_RATE)
        kept: list[list[int]] = []
        for start, stop in self.spans:
            begin, end = max(0, start - keep), min(len(audio), stop + keep)
            if kept and begin <= kept[-1][1]:
                kept[-1][1] = max(kept[-1][1], end)  # a short pause stays whole
            else:
                kept.append([begin, end])
        speech = np.concatenate([audio[begin:end] for begin, end in kept])
        if not len(speech) or len(speech) > MERGE_MAX_S * LISTEN_RATE:
            return None
        return (speech.astype(np.float32) / 32768.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class TranscribeRequest:
    model: str
    language: str | None


@dataclass(frozen=True, slots=True)
class AsrResult:
    text: str
    language: str | None
    audio_s: float
    first_chunk_s: float | None
    """audio-start → first transcript chunk (None: no chunk before audio-stop)."""
    final_s: float
    """audio-stop → transcript sent."""


class RequestTranscriber:
    """The engine's ``Transcriber`` port, with the model and language of one request."""

    def __init__(self, speech: SpeechService, request: TranscribeRequest) -> None:
        self.speech = speech
        self.request = request

    async def transcribe(self, audio: FloatArray) -> Transcription:
        started = time.perf_counter()
        options = TranscribeOptions(language=self.request.language, vad_filter=False)
        transcript = await self.speech.transcribe(audio, options, self.request.model)
        return Transcription(
            text=transcript.text,
            language=transcript.language,
            seconds=time.perf_counter() - started,
        )


class Unlimited:
    """The ``TurnLimiter`` port for utterances: a transcription is admitted as a whole
    by the connection's stream limit, not once per pause in it."""

    async def admit(self, user: str) -> None:
        return None


def _observe(event: SessionEvent) -> None:
    # Utterances of a transcription are not assistant turns; only overruns are counted.
    if isinstance(event, InputOverrun):
        metrics.REALTIME_INPUT_OVERRUNS.labels("closed" if event.close else "dropped").inc()


class TranscriptionStream:
    """One ``audio-start`` … ``audio-stop`` of a connection."""

    def __init__(
        self,
        request: TranscribeRequest,
        fmt: PcmFormat,
        *,
        ports: SessionPorts,
        speech: SpeechService,
        user: str,
        vad: TurnConfig,
        limits: WyomingLimits,
        send: Callable[[Event], None],
        streaming: bool,
        clock: Clock,
    ) -> None:
        self.request = request
        self.send = send
        self.streaming = streaming
        self.limits = limits
        self.clock = clock
        self.opened = clock.now()
        self.transcriber = RequestTranscriber(speech, request)
        vad = replace(vad, silence_ms=max(vad.silence_ms, SEGMENT_SILENCE_MS))
        self.record = SpeechRecord()
        ports = replace(
            ports,
            transcriber=self.transcriber,
            limiter=Unlimited(),
            observe=_observe,
        )
        options = SessionOptions(
            input_rate=LISTEN_RATE,
            server_vad=True,
            auto_respond=False,
            barge_in=False,
            queue_turns=True,
            partial_transcripts=streaming,
            speak=False,
            vad=vad,
        )
        # The session's own budget is a backstop: the pacer below (same policy, opened
        # later, so never more generous) keeps the audio within it.
        policy = limits.budget
        backstop = BudgetPolicy(policy.ratio, policy.head_start_s + 0.5, policy.close_after_s)
        self.session = VoiceSession(ports, user=user, options=options, budget=backstop)
        self.pacer = AudioPacer(clock, policy)
        self.converter = PcmConverter(fmt)
        self.chunks = TranscriptChunks()
        self.language = request.language
        self.error: RequestFailed | None = None
        self.first_chunk_s: float | None = None
        self._ended = asyncio.Event()
        if streaming:
            send(TranscriptStart(language=request.language).event())
        self._pump = asyncio.create_task(self._drain(), name="wyoming asr events")

    # --- audio in ----------------------------------------------------------------------

    async def feed(self, fmt: PcmFormat, payload: bytes) -> None:
        """One ``audio-chunk``; returns once it fits the audio budget (backpressure)."""
        seconds = fmt.seconds(payload)
        if self.pacer.received_s + seconds > self.limits.max_audio_seconds:
            raise AudioTooLong(
                f"the audio is longer than {self.limits.max_audio_seconds:g} seconds",
                detail={"max_seconds": self.limits.max_audio_seconds},
            )
        await self.pacer.admit(seconds)
        if fmt != self.converter.format:  # a chunk may change the format mid-stream
            self._feed(self.converter.flush())
            self.converter = PcmConverter(fmt)
        self._feed(self.converter.convert(payload))

    def _feed(self, pcm: Int16Array) -> None:
        if len(pcm):
            self.record.add(pcm)
            self.session.feed_audio(pcm.astype("<i2", copy=False).tobytes())

    async def finish(self) -> AsrResult:
        """``audio-stop``: close the last utterance, wait for every transcript, answer."""
        stopped = self.clock.now()
        self._feed(self.converter.flush())
        await self.session.commit()
        while self.session.responding:  # utterances still being transcribed, in order
            self._ended.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), SETTLE_POLL_S)
        self._catch_up()
        await self.session.close()
        if self.error is not None:
            raise self.error
        text = self.chunks.text
        merged = self.record.merged_speech()
        if merged is not None:  # several utterances: hear them once more, together
            text = (await self.transcriber.transcribe(merged)).text.strip()
        self.send(Transcript(text=text, language=self.language).event())
        if self.streaming:
            self.send(TranscriptStop().event())
        return AsrResult(
            text=text,
            language=self.language,
            audio_s=round(self.pacer.received_s, 3),
            first_chunk_s=self.first_chunk_s,
            final_s=self.clock.now() - stopped,
        )

    async def close(self) -> None:
        """Abandon the stream (the client left, or the request failed)."""
        self._pump.cancel()
        await self.session.close()

    # --- engine events → transcript chunks ---------------------------------------------

    async def _drain(self) -> None:
        async for event in self.session.events():
            self._on_event(event)

    def _catch_up(self) -> None:
        """Stop the event task and handle what is queued here, now. The task only ever
        waits on the queue, so cancelling it loses nothing."""
        self._pump.cancel()
        for event in self.session.pending_events():
            self._on_event(event)

    def _on_event(self, event: SessionEvent) -> None:
        chunk: str | None = None
        match event:
            case SpeechStopped(started_ms=started_ms, audio_ms=stopped_ms):
                self.record.spoke(started_ms, stopped_ms)
            case TranscriptPartial(text=text):
                chunk = self.chunks.partial(text)
            case TranscriptFinal(text=text, language=language):
                chunk = self.chunks.final(text)
                if text.strip() and language and not self.request.language:
                    self.language = language
            case TurnEnded(status="failed", error=error) if error is not None:
                self.error = self.error or RequestFailed(error.code, error.message)
                self._ended.set()
            case TurnEnded():
                self._ended.set()
            case InputOverrun(close=True):
                self.error = self.error or RequestFailed(
                    "audio_overrun", "audio arrived faster than the budget allows"
                )
            case _:
                pass
        if chunk and self.streaming:
            if self.first_chunk_s is None:
                self.first_chunk_s = self.clock.now() - self.opened
            self.send(TranscriptChunk(text=chunk).event())
