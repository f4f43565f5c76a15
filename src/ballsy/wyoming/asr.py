"""Speech-to-text over Wyoming: ``transcribe`` + ``audio-start/chunk/stop`` → ``transcript``.

With streaming on, the answer is ``transcript-start``, ``transcript-chunk``s while the
audio still arrives, the whole ``transcript`` (for clients without streaming), then
``transcript-stop``. The work is :class:`~ballsy.wyoming.transcription.TranscriptionStream`'s;
this is the protocol's state around it.
"""

from __future__ import annotations

from wyoming.asr import Transcribe
from wyoming.event import Event

from ballsy.wyoming.audio import PcmFormat
from ballsy.wyoming.errors import ProtocolViolation, parse, text_field
from ballsy.wyoming.info import PROGRAM
from ballsy.wyoming.requests import ConnectionContext
from ballsy.wyoming.transcription import TranscribeRequest, TranscriptionStream


class AsrEvents:
    """A connection's speech-to-text state: the pending ``transcribe``, the open stream."""

    def __init__(self, context: ConnectionContext) -> None:
        self.context = context
        self._request: TranscribeRequest | None = None
        self._stream: TranscriptionStream | None = None
        self._skipping = False  # the rest of a refused audio stream

    async def transcribe(self, event: Event) -> None:
        if self._stream is not None:
            raise ProtocolViolation("transcribe during an audio stream; send audio-stop first")
        request = parse(Transcribe, event)
        name = None if request.name is None else text_field(request.name, "'name'")
        if name == PROGRAM:  # the program's name, not a model's: its default model
            name = None
        language = None if request.language is None else text_field(request.language, "'language'")
        self._request = TranscribeRequest(
            *self.context.backends.catalogue.model_for(name, language)
        )

    async def audio_start(self, event: Event) -> None:
        if self._stream is not None:
            raise ProtocolViolation("audio-start during an audio stream; send audio-stop first")
        context = self.context
        self._skipping = True  # until this stream is accepted
        fmt = PcmFormat.from_data(event.data)
        catalogue = context.backends.catalogue
        request = self._request or TranscribeRequest(*catalogue.model_for(None, None))
        context.requests.acquire()
        self._request, self._skipping = None, False
        backends = context.backends
        self._stream = TranscriptionStream(
            request,
            fmt,
            ports=backends.ports,
            speech=backends.speech,
            user=backends.user,
            vad=backends.vad,
            limits=context.limits,
            send=context.outbox.send,
            streaming=backends.streaming,
            clock=backends.clock,
        )

    async def audio_chunk(self, event: Event) -> None:
        """Returns once the chunk fits the audio budget: the connection reads no further
        meanwhile, which is what slows a fast sender down."""
        stream = self._stream
        if stream is None:
            if self._skipping:
                return
            self._skipping = True
            raise ProtocolViolation("audio-chunk without audio-start")
        try:
            await stream.feed(PcmFormat.from_data(event.data), event.payload or b"")
        except BaseException:
            await self._drop(skip_rest=True)
            raise

    async def audio_stop(self, event: Event) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            if self._skipping:
                self._skipping = False
                return
            raise ProtocolViolation("audio-stop without audio-start")
        self.context.requests.spawn("asr", self._finish(stream))

    async def _finish(self, stream: TranscriptionStream) -> None:
        try:
            result = await stream.finish()
        except BaseException:
            await stream.close()
            raise
        self.context.requests.completed(
            "asr",
            result.first_chunk_s,
            result.final_s,
            model=stream.request.model,
            audio_s=result.audio_s,
            language=result.language,
            words=len(result.text.split()),
        )

    async def _drop(self, *, skip_rest: bool) -> None:
        stream, self._stream = self._stream, None
        self._skipping = skip_rest
        if stream is not None:
            self.context.requests.release()
            await stream.close()

    async def close(self) -> None:
        await self._drop(skip_rest=False)
