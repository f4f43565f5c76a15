"""Text-to-speech over Wyoming: ``synthesize``, and ``synthesize-start/chunk/stop``.

A plain ``synthesize`` is spoken as one ``audio-start``, chunks, ``audio-stop``. A
streamed request arrives as text chunks (an LLM's tokens, from Home Assistant); the
realtime engine's :class:`~ballsy.realtime.session.sentences.SentenceBuffer` cuts
them into sentences as they arrive and each sentence is spoken — its own
``audio-start`` … ``audio-stop`` — as soon as it is complete, so the first sentence is
heard while the rest is still being written. ``synthesize-stopped`` ends the stream.

Audio leaves in protocol-sized chunks (1024 samples) at the engine's own rate; the
voice and speed are the request's, else the configured user's settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStopped,
    SynthesizeVoice,
)

from ballsy.errors import InvalidInput
from ballsy.realtime.session.clock import Clock
from ballsy.realtime.session.sentences import SentenceBuffer
from ballsy.speech.service import SpeechService
from ballsy.wyoming.catalogue import Catalogue, VoiceEntry
from ballsy.wyoming.errors import ProtocolViolation, parse, text_field
from ballsy.wyoming.limits import WyomingLimits
from ballsy.wyoming.requests import ConnectionContext

CHUNK_SAMPLES = 1024
SAMPLE_WIDTH = 2
TEXT_FORMATS = (None, "text")


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    entry: VoiceEntry
    speed: float


async def choose_voice(
    catalogue: Catalogue,
    wanted: SynthesizeVoice | None,
    user_voice: Callable[[], Awaitable[tuple[str | None, float]]],
) -> VoiceChoice:
    """The request's voice (or the user's own), at the user's speed setting."""
    preferred, speed = await user_voice()
    return VoiceChoice(catalogue.voice_for(wanted, preferred), speed)


def check_text_format(text_format: object) -> None:
    value = getattr(text_format, "value", text_format)
    if value not in TEXT_FORMATS:
        raise InvalidInput(f"text_format {value!r} is not supported; send plain text")


class Speaker:
    """Speaks text in one voice and sends it to the client as Wyoming audio."""

    def __init__(
        self,
        speech: SpeechService,
        choice: VoiceChoice,
        *,
        send: Callable[[Event], None],
        send_audio: Callable[[Event], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self.speech = speech
        self.choice = choice
        self.send = send
        self.send_audio = send_audio
        self.clock = clock
        self.rate = speech.sample_rate_for(choice.entry.engine)
        self.opened = clock.now()
        self.first_audio_s: float | None = None
        self.samples = 0

    async def speak(self, text: str) -> None:
        """``audio-start``, the audio of ``text`` in chunks, ``audio-stop``."""
        entry = self.choice.entry
        pieces = await self.speech.synthesize(
            text, voice=entry.voice, speed=self.choice.speed, engine=entry.engine
        )
        started = False
        async for pcm in pieces:
            data = np.asarray(pcm, dtype="<i2")
            for offset in range(0, len(data), CHUNK_SAMPLES):
                if not started:
                    self.send(self._start())
                    started = True
                await self._chunk(data[offset : offset + CHUNK_SAMPLES].tobytes())
        if started:
            self.send(AudioStop(timestamp=self._position_ms()).event())

    def _start(self) -> Event:
        return AudioStart(
            rate=self.rate, width=SAMPLE_WIDTH, channels=1, timestamp=self._position_ms()
        ).event()

    async def _chunk(self, data: bytes) -> None:
        chunk = AudioChunk(
            rate=self.rate,
            width=SAMPLE_WIDTH,
            channels=1,
            audio=data,
            timestamp=self._position_ms(),
        )
        await self.send_audio(chunk.event())
        if self.first_audio_s is None:
            self.first_audio_s = self.clock.now() - self.opened
        self.samples += len(data) // SAMPLE_WIDTH

    def _position_ms(self) -> int:
        return self.samples * 1000 // self.rate

    @property
    def audio_s(self) -> float:
        return round(self.samples / self.rate, 3)


class SynthesisStream:
    """One ``synthesize-start`` … ``synthesize-stop``: sentences spoken as they complete."""

    def __init__(self, speaker: Speaker, limits: WyomingLimits) -> None:
        self.speaker = speaker
        self.limits = limits
        self.chars = 0
        self._buffer = SentenceBuffer()
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self.stopped = False
        self.task = asyncio.create_task(self._run(), name="wyoming tts stream")

    def push(self, text: str) -> None:
        """A ``synthesize-chunk``: complete sentences go to synthesis at once."""
        self.chars += len(text)
        self.limits.check_text(self.chars)
        for sentence in self._buffer.push(text):
            self._sentences.put_nowait(sentence)

    def stop(self) -> None:
        """``synthesize-stop``: speak the rest, then send ``synthesize-stopped``."""
        if self.stopped:
            return
        self.stopped = True
        for sentence in self._buffer.flush():
            self._sentences.put_nowait(sentence)
        self._sentences.put_nowait(None)

    async def _run(self) -> None:
        while (sentence := await self._sentences.get()) is not None:
            await self.speaker.speak(sentence)
        self.speaker.send(SynthesizeStopped().event())

    async def cancel(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


class TtsEvents:
    """A connection's text-to-speech state: the open synthesis stream, if any."""

    def __init__(self, context: ConnectionContext) -> None:
        self.context = context
        self._stream: SynthesisStream | None = None
        self._skipping = False  # the rest of a refused synthesis stream

    async def _speaker(self, voice: SynthesizeVoice | None) -> Speaker:
        backends, outbox = self.context.backends, self.context.outbox
        choice = await choose_voice(backends.catalogue, voice, backends.user_voice)
        return Speaker(
            backends.speech,
            choice,
            send=outbox.send,
            send_audio=outbox.send_audio,
            clock=backends.clock,
        )

    async def synthesize(self, event: Event) -> None:
        if self._stream is not None or self._skipping:
            return  # the copy of a streamed text that clients send for older servers
        request = parse(Synthesize, event)
        text = text_field(request.text, "synthesize 'text'")
        check_text_format(request.text_format)
        self.context.limits.check_text(len(text))
        self.context.requests.acquire()
        self.context.requests.spawn("tts", self._speak(request.voice, text))

    async def _speak(self, voice: SynthesizeVoice | None, text: str) -> None:
        speaker = await self._speaker(voice)
        await speaker.speak(text)
        self._completed(speaker, chars=len(text), streamed=False)

    def _completed(self, speaker: Speaker, *, chars: int, streamed: bool) -> None:
        self.context.requests.completed(
            "tts",
            speaker.first_audio_s,
            speaker.clock.now() - speaker.opened,
            voice=speaker.choice.entry.name,
            audio_s=speaker.audio_s,
            chars=chars,
            streamed=streamed,
        )

    async def synthesize_start(self, event: Event) -> None:
        if self._stream is not None:
            raise ProtocolViolation("synthesize-start during a synthesis stream")
        self._skipping = True  # until this stream is accepted
        request = parse(SynthesizeStart, event)
        check_text_format(request.text_format)
        requests = self.context.requests
        requests.acquire()
        try:
            speaker = await self._speaker(request.voice)
        except BaseException:
            requests.release()
            raise
        stream = self._stream = SynthesisStream(speaker, self.context.limits)
        self._skipping = False
        requests.spawn("tts", self._stream_done(stream))

    async def _stream_done(self, stream: SynthesisStream) -> None:
        try:
            await stream.task
        finally:
            if self._stream is stream:  # it failed before synthesize-stop: skip the rest
                self._stream, self._skipping = None, True
        self._completed(stream.speaker, chars=stream.chars, streamed=True)

    async def synthesize_chunk(self, event: Event) -> None:
        stream = self._stream
        if stream is None:
            if self._skipping:
                return
            self._skipping = True
            raise ProtocolViolation("synthesize-chunk without synthesize-start")
        text = text_field(parse(SynthesizeChunk, event).text, "synthesize-chunk 'text'")
        try:
            stream.push(text)
        except BaseException:
            self._stream, self._skipping = None, True
            await stream.cancel()
            raise

    async def synthesize_stop(self, event: Event) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            if self._skipping:
                self._skipping = False
                return
            raise ProtocolViolation("synthesize-stop without synthesize-start")
        stream.stop()

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.cancel()
