"""The conversation as an OpenAI Realtime client sees it: items and responses.

Ballsy's engine thinks in turns (speech → transcript → reply); the Realtime API
thinks in conversation items (a user's audio or text, an assistant message) and
responses that the client or server VAD creates. :class:`RealtimeConversation`
keeps the two in step: it gives each turn its items, answers the engine's events
with server events, and holds what the client said but nobody has answered yet.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from ballsy.errors import BallsyError
from ballsy.realtime.engine import VoiceSession
from ballsy.realtime.events import (
    AudioChunk,
    ReplyDelta,
    ResponseDone,
    ResponseStarted,
    SessionError,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
)
from ballsy.realtime.openai_session import RealtimeSessionConfig
from ballsy.realtime.openai_wire import ResponseStream, ServerEvents, Status, new_id

REMEMBERED_ITEMS = 16  # assistant items a client may still truncate


@dataclass(slots=True)
class UserAudio:
    """Committed user audio: its conversation item, until its transcript comes."""

    item_id: str
    seconds: float
    responds: bool
    """The engine answers it by itself (server VAD with ``create_response``)."""


class RealtimeConversation:
    def __init__(self, events: ServerEvents, config: RealtimeSessionConfig) -> None:
        self.events = events
        self.config = config
        self.session: VoiceSession  # set by the connection once the engine exists
        self.last_item_id: str | None = None
        self.speech: tuple[str, int] | None = None  # (item id, start ms) while VAD hears speech
        self.user_audio: dict[str, UserAudio] = {}  # by turn id
        self.transcribing: str | None = None  # a turn whose transcript a response needs
        self.pending: list[str] = []  # user text nobody has answered yet
        self.response: ResponseStream | None = None  # the one in progress
        self.deferred = False  # ``response`` waits for ``transcribing``
        self.responses: dict[str, ResponseStream] = {}  # by turn id, while the engine runs them
        self.assistant_items: OrderedDict[str, str] = OrderedDict()  # item id -> turn id

    # --- items -----------------------------------------------------------------------

    def add_item(self, item: dict[str, object]) -> None:
        self.events.item_added(item, self.last_item_id)
        self.last_item_id = str(item["id"])

    def user_audio_committed(self, turn_id: str, item_id: str, seconds: float) -> None:
        """Audio became a user item (VAD end of speech, or a manual commit)."""
        responds = self.session.options.auto_respond
        # A new turn cancels a previous one's transcription (the engine runs one turn).
        self.user_audio = {turn_id: UserAudio(item_id, max(0.0, seconds), responds)}
        self.transcribing = None if responds else turn_id
        self.events.send(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=self.last_item_id
        )
        self.add_item(self.events.user_audio_item(item_id))

    # --- responses -------------------------------------------------------------------

    def create_response(self, response: ResponseStream) -> None:
        """``response.create``: start now, or once the committed audio is transcribed."""
        self.response = response
        response.created()
        self.deferred = self.transcribing is not None
        if not self.deferred:
            self._start(response)

    def _start(self, response: ResponseStream) -> None:
        self.deferred = False
        text, self.pending = "\n".join(self.pending), []
        try:
            response.turn_id = self.session.submit_text(
                text, instructions=response.instructions, speak=response.audio
            )
        except BallsyError as exc:
            self.end(response, "failed", error={"type": "invalid_request_error", "code": exc.code})
            self.events.error(exc.code, exc.message)
            return
        self.responses[response.turn_id] = response

    def cancel(self, response: ResponseStream) -> None:
        response.cancel_reason = "client_cancelled"
        if response.turn_id is not None:
            self.session.interrupt()
        if not response.started:  # the engine never announced it: it sends nothing more
            self.end(response, "cancelled")

    def end(
        self,
        response: ResponseStream,
        status: Status,
        *,
        text: str | None = None,
        usage: dict[str, int] | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        response.finish(status, text=text, usage=usage, error=error)
        if response.turn_id is not None:
            self.responses.pop(response.turn_id, None)
        if self.response is response:
            self.response, self.deferred = None, False

    # --- engine events ---------------------------------------------------------------

    def on_event(self, event: SessionEvent) -> None:
        match event:
            case AudioChunk():
                if (response := self.responses.get(event.turn_id)) is not None:
                    response.audio_delta(event.pcm, event.sample_rate)
            case ReplyDelta():
                if (response := self.responses.get(event.turn_id)) is not None:
                    response.text_delta(event.text)
            case SpeechStarted():
                self.speech = (new_id("item"), event.audio_ms)
                self.events.send(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=event.audio_ms,
                    item_id=self.speech[0],
                )
            case SpeechStopped():
                item_id, start_ms = self.speech or (new_id("item"), event.audio_ms)
                self.speech = None
                self.events.send(
                    "input_audio_buffer.speech_stopped",
                    audio_end_ms=event.audio_ms,
                    item_id=item_id,
                )
                seconds = (event.audio_ms - start_ms) / 1000
                self.user_audio_committed(event.turn_id, item_id, seconds)
            case TranscriptFinal():
                self._on_transcript(event)
            case ResponseStarted():
                self._on_response_started(event.turn_id)
            case ResponseDone():
                self._on_response_done(event)
            case SessionError():
                self.events.error(event.code, event.message, kind="server_error")
                asyncio.get_running_loop().call_soon(self._reap)
            case _:
                pass

    def _on_transcript(self, event: TranscriptFinal) -> None:
        audio = self.user_audio.pop(event.turn_id, None)
        if audio is None:
            return
        if self.config.transcription is not None:
            self.events.send(
                "conversation.item.input_audio_transcription.completed",
                item_id=audio.item_id,
                content_index=0,
                transcript=event.text,
                usage={"type": "duration", "seconds": round(audio.seconds, 3)},
            )
        if audio.responds:
            return
        if event.text:
            self.pending.append(event.text)
        if self.transcribing == event.turn_id:
            self.transcribing = None
            if self.deferred:  # after this callback: the engine is still inside its turn
                asyncio.get_running_loop().call_soon(self._start_deferred)

    def _start_deferred(self) -> None:
        response = self.response
        if response is None or not self.deferred:
            return
        if not self.pending:
            error = {"type": "invalid_request_error", "code": "input_missing"}
            self.end(response, "failed", error=error)
            return
        self._start(response)

    def _reap(self) -> None:
        """After an engine error: end what waited on a turn that will not go on."""
        if self.session.responding:
            return
        self.transcribing = None
        response = self.response
        if response is not None and not response.started and (self.deferred or response.turn_id):
            self.end(response, "failed", error={"type": "server_error", "code": "turn_failed"})

    def _on_response_started(self, turn_id: str) -> None:
        response = self.responses.get(turn_id)
        if response is None:  # the engine answered speech by itself (server VAD)
            self.pending = []
            config = self.config
            response = ResponseStream(self.events, audio=config.audio_output, voice=config.voice)
            response.turn_id = turn_id
            self.responses[turn_id] = self.response = response
            response.created()
        response.start(self.last_item_id)
        self.last_item_id = response.item_id
        self.assistant_items[response.item_id] = turn_id
        while len(self.assistant_items) > REMEMBERED_ITEMS:
            self.assistant_items.popitem(last=False)

    def _on_response_done(self, event: ResponseDone) -> None:
        response = self.responses.get(event.turn_id)
        if response is None:
            return
        failed = event.status == "failed"
        error = {"type": "server_error", "code": "turn_failed"} if failed else None
        self.end(response, event.status, text=event.full_text, usage=event.usage, error=error)
