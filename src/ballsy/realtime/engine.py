"""The conversation engine: one :class:`VoiceSession` per connection.

Audio in → streaming VAD → on end of turn: transcribe → assistant turn (skills, else
streamed LLM) → sentences as they complete → TTS per sentence → audio frames paced to
playback time. Speech that starts while Ballsy talks is a barge-in: the reply task is
cancelled (which closes the LLM stream and drops pending TTS), the client is told
to drop its buffered audio, and only what was heard is stored.

Models are shared by the process (``Services``); a session holds only its VAD state,
the current turn's audio and one reply task. Events leave through ``emit``, a
non-blocking callback the protocol adapter provides.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ballsy.assistant.text import clean_command_text
from ballsy.errors import BallsyError, InvalidInput, NotFound
from ballsy.observability.logging import get_logger
from ballsy.realtime.events import (
    ResponseStarted,
    SessionError,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
)
from ballsy.realtime.playout import Playout
from ballsy.realtime.reply import FRAME_S, ReplyRun, ReplyStyle, SpokenReply, Voice, elapsed_ms
from ballsy.realtime.resampling import StreamResampler
from ballsy.services import Services
from ballsy.speech.stt import TranscribeOptions, Transcript
from ballsy.speech.vad import SpeechStarted as VadStarted
from ballsy.speech.vad import TurnConfig, TurnDetector

log = get_logger("ballsy.realtime")

VAD_RATE = 16_000
PARTIAL_EVERY_S = 1.0
SUPPORTED_INPUT_RATES = (8000, 16000, 24000, 48000)
REMEMBERED_REPLIES = 16  # replies a client may still truncate


def _new_turn_id() -> str:
    return f"turn_{uuid.uuid4().hex[:16]}"


@dataclass(slots=True)
class SessionOptions:
    input_rate: int = 16_000
    output_rate: int | None = None
    """None: the TTS engine's own rate."""
    voice: str | None = None
    speed: float | None = None
    tts_engine: str | None = None
    server_vad: bool = True
    auto_respond: bool = True
    instructions: str | None = None
    partial_transcripts: bool = True
    speak: bool = True
    """False: replies are text only (no speech synthesis, no audio)."""
    vad: TurnConfig = field(default_factory=TurnConfig)

    def check(self) -> None:
        if self.input_rate not in SUPPORTED_INPUT_RATES:
            rates = ", ".join(map(str, SUPPORTED_INPUT_RATES))
            raise InvalidInput(f"unsupported input sample rate {self.input_rate}; use {rates}")


class VoiceSession:
    def __init__(
        self,
        services: Services,
        *,
        client_id: str,
        emit: Callable[[SessionEvent], None],
        options: SessionOptions | None = None,
    ) -> None:
        self.services = services
        self.id = uuid.uuid4().hex
        self.client_id = client_id
        self.emit = emit
        self.options = options or SessionOptions()
        self.options.check()
        self._configure_input()
        self._reply: asyncio.Task[None] | None = None
        self._partial: asyncio.Task[None] | None = None
        self._manual: list[npt.NDArray[np.float32]] = []
        self._manual_s = 0.0
        self._speech: list[npt.NDArray[np.float32]] = []
        self._speech_s = 0.0
        self._partial_at_s = 0.0
        self._input_s = 0.0
        self._reply_turn = ""
        self._replies: OrderedDict[str, SpokenReply] = OrderedDict()
        self._guess: asyncio.Task[Transcript] | None = None
        self._speculate_after_s = min(0.2, self.options.vad.silence_ms / 2000)
        self.closed = False

    # --- configuration ---------------------------------------------------------------

    def _configure_input(self) -> None:
        self._detector = TurnDetector(self.options.vad)
        self._to_vad = StreamResampler(self.options.input_rate, VAD_RATE)

    def update(self, options: SessionOptions) -> None:
        """Apply new options (sample rate or VAD changes reset the input stream)."""
        options.check()
        restart = (options.input_rate, options.vad) != (self.options.input_rate, self.options.vad)
        self.options = options
        if restart:
            self._configure_input()
            self._speculate_after_s = min(0.2, options.vad.silence_ms / 2000)

    @property
    def output_rate(self) -> int:
        return self.options.output_rate or self.services.speech.sample_rate_for(
            self.options.tts_engine
        )

    @property
    def responding(self) -> bool:
        return self._reply is not None and not self._reply.done()

    # --- input -----------------------------------------------------------------------

    def feed_audio(self, pcm: bytes) -> None:
        """PCM16 mono at ``input_rate``. VAD runs inline: ~0.1 ms per 32 ms window."""
        if len(pcm) % 2:
            raise InvalidInput("PCM16 audio must have an even number of bytes")
        samples = np.frombuffer(pcm, dtype="<i2")
        self._input_s += len(samples) / self.options.input_rate
        audio = self._to_vad.process(samples).astype(np.float32) / 32768.0
        if not self.options.server_vad:
            self._manual.append(audio)
            self._manual_s += len(audio) / VAD_RATE
            if self._manual_s > self.options.vad.max_turn_s:
                self._manual.pop(0)  # bounded: keep the newest max_turn_s
            return
        if self._detector.speaking:
            self._speech.append(audio)
            self._speech_s += len(audio) / VAD_RATE
            self._maybe_partial()
        for event in self._detector.feed(audio):
            if isinstance(event, VadStarted):
                self._on_speech_started(event.at_s)
            else:
                self._on_speech_stopped(event.at_s, event.audio)
        self._speculate()

    def _speculate(self) -> None:
        """Start transcribing once the user pauses, before the pause is long enough to
        end the turn. If it does end the turn, the transcript is (nearly) ready; if they
        speak on, the guess is dropped. Whisper hears the same words either way: the
        final audio only adds silence."""
        quiet = self._detector.trailing_silence_s
        if self._guess is not None and quiet == 0.0:
            self._guess.cancel()
            self._guess = None
        elif self._guess is None and quiet >= self._speculate_after_s:
            self._guess = asyncio.create_task(self._stt(self._detector.turn_audio()))

    async def _stt(self, audio: npt.NDArray[np.float32]) -> Transcript:
        return await self.services.speech.transcribe(audio, TranscribeOptions(vad_filter=False))

    def _on_speech_started(self, at_s: float) -> None:
        self._speech, self._speech_s, self._partial_at_s = [], 0.0, 0.0
        self.emit(SpeechStarted(audio_ms=round(at_s * 1000)))
        if self.responding:
            self.interrupt()

    def _on_speech_stopped(self, at_s: float, audio: npt.NDArray[np.float32]) -> str:
        turn_id = _new_turn_id()
        self.emit(SpeechStopped(audio_ms=round(at_s * 1000), turn_id=turn_id))
        self._speech, self._speech_s = [], 0.0
        if self._partial is not None:
            self._partial.cancel()
        guess, self._guess = self._guess, None
        # How long the end-of-turn silence took to confirm, in audio time.
        vad_ms = round((self._detector.time_s - at_s) * 1000, 1)
        return self._start_turn(audio=audio, vad_ms=vad_ms, turn_id=turn_id, stt=guess)

    def _maybe_partial(self) -> None:
        busy = self._partial is not None and not self._partial.done()
        if not self.options.partial_transcripts or busy:
            return
        if self._speech_s - self._partial_at_s < PARTIAL_EVERY_S:
            return
        self._partial_at_s = self._speech_s
        audio = np.concatenate(self._speech)
        self._partial = asyncio.create_task(self._transcribe_partial(audio))

    async def _transcribe_partial(self, audio: npt.NDArray[np.float32]) -> None:
        with contextlib.suppress(BallsyError):
            transcript = await self.services.speech.transcribe(
                audio, TranscribeOptions(vad_filter=False)
            )
            if transcript.text.strip() and self._detector.speaking:
                self.emit(TranscriptPartial(turn_id="", text=transcript.text.strip()))

    def commit(self) -> str | None:
        """End the user's turn now (manual turn-taking): its turn id, None without audio."""
        if self.options.server_vad:
            turn_id = None
            for event in self._detector.flush():
                if not isinstance(event, VadStarted):
                    turn_id = self._on_speech_stopped(event.at_s, event.audio)
            return turn_id
        if not self._manual:
            return None
        audio = np.concatenate(self._manual)
        self._manual, self._manual_s = [], 0.0
        return self._start_turn(audio=audio, vad_ms=0.0, respond=self.options.auto_respond)

    def clear_input(self) -> None:
        self._manual, self._manual_s = [], 0.0
        self._detector.reset()

    def submit_text(
        self,
        text: str,
        *,
        respond: bool = True,
        instructions: str | None = None,
        speak: bool | None = None,
    ) -> str:
        """A typed turn; returns its turn id. Empty or oversized text is refused here.
        ``instructions`` and ``speak`` override the session's options for this reply."""
        cleaned = clean_command_text(text, max_length=self.services.settings.max_command_length)
        style = ReplyStyle(
            instructions=instructions or self.options.instructions,
            speak=self.options.speak if speak is None else speak,
        )
        return self._start_turn(text=cleaned, vad_ms=0.0, respond=respond, style=style)

    # --- turns -----------------------------------------------------------------------

    def _start_turn(
        self,
        *,
        audio: npt.NDArray[np.float32] | None = None,
        text: str | None = None,
        vad_ms: float,
        respond: bool | None = None,
        turn_id: str | None = None,
        style: ReplyStyle | None = None,
        stt: asyncio.Task[Transcript] | None = None,
    ) -> str:
        if self.responding:
            self.interrupt()
        turn_id = turn_id or _new_turn_id()
        go = self.options.auto_respond if respond is None else respond
        style = style or ReplyStyle(self.options.instructions, self.options.speak)
        self._reply_turn = turn_id
        self._reply = asyncio.create_task(self._turn(turn_id, audio, text, vad_ms, go, style, stt))
        return turn_id

    def interrupt(self) -> None:
        """Barge-in or client cancel: stop the reply now (the task reports what was heard)."""
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()

    async def _turn(
        self,
        turn_id: str,
        audio: npt.NDArray[np.float32] | None,
        text: str | None,
        vad_ms: float,
        respond: bool,
        style: ReplyStyle,
        stt: asyncio.Task[Transcript] | None = None,
    ) -> None:
        detected = time.perf_counter()
        timings: dict[str, float] = {"vad_ms": vad_ms}
        try:
            if audio is not None:
                transcript = await (stt if stt is not None else self._stt(audio))
                # How long the turn waited for its transcript once the pause was confirmed.
                timings["stt_ms"] = elapsed_ms(detected)
                text = transcript.text.strip()
                self.emit(TranscriptFinal(turn_id, text, transcript.language))
            if not text or not respond:
                return
            await self._respond(turn_id, text, detected, timings, style)
        except BallsyError as exc:
            self.emit(SessionError(code=exc.code, message=exc.message))

    async def _respond(
        self,
        turn_id: str,
        text: str,
        detected: float,
        timings: dict[str, float],
        style: ReplyStyle,
    ) -> None:
        # WS_TURNS_PER_MINUTE per session: a RateLimited error reaches the client.
        await self.services.limits.check_ws_turn(self.id)
        turn = await self.services.assistant.begin(
            self.client_id, text, "voice", instructions=style.instructions
        )
        self.emit(ResponseStarted(turn_id))
        playout = Playout(lead_s=self.services.settings.realtime_playout_lead)
        spoken = SpokenReply(user_id=turn.user_id, playout=playout)
        self._remember(turn_id, spoken)
        voice = Voice(
            name=self.options.voice,
            speed=self.options.speed or 1.0,
            engine=self.options.tts_engine,
            output_rate=self.output_rate,
        )
        run = ReplyRun(
            self.services,
            turn_id=turn_id,
            turn=turn,
            style=style,
            voice=voice,
            spoken=spoken,
            emit=self.emit,
            detected=detected,
            timings=timings,
        )
        await run.run()

    def _remember(self, turn_id: str, reply: SpokenReply) -> None:
        self._replies[turn_id] = reply
        while len(self._replies) > REMEMBERED_REPLIES:
            self._replies.popitem(last=False)

    async def truncate(self, turn_id: str, audio_end_ms: int) -> str:
        """The client played only the first ``audio_end_ms`` of ``turn_id``'s reply: store
        that as what was heard (a reply still going is stopped first). Returns the text."""
        if turn_id == self._reply_turn and self._reply is not None and not self._reply.done():
            self.interrupt()
            await asyncio.wait({self._reply})  # its finish persists the reply first
        reply = self._replies.get(turn_id)
        if reply is None or reply.history_id is None:
            raise NotFound("no reply with that id in this session")
        played_s, queued_s = audio_end_ms / 1000, reply.playout.queued_s
        if audio_end_ms < 0 or played_s > queued_s + FRAME_S:
            raise InvalidInput(
                f"audio_end_ms {audio_end_ms} is outside the reply's "
                f"{round(queued_s * 1000)} ms of audio"
            )
        heard = reply.full_text if played_s >= queued_s else reply.playout.played_text(played_s)
        await self.services.assistant.amend_reply(reply.user_id, reply.history_id, heard)
        return heard

    async def close(self) -> None:
        """Cancel everything this session started; waits until the reply is persisted."""
        self.closed = True
        for task in (self._partial, self._guess, self._reply):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
