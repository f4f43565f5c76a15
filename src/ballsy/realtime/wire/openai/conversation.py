"""The conversation as an OpenAI Realtime client sees it: one state machine.

Ballsy's engine thinks in turns (speech → transcript → reply); the Realtime API thinks
in conversation items (a user's audio or text, an assistant message) and responses
that the client or server VAD creates. :class:`RealtimeConversation` keeps the two in
step. It is fed parsed client events (:meth:`~RealtimeConversation.handle`) and the
engine's events (:meth:`~RealtimeConversation.render`, from the connection's task that
drains the session's queue), turns them into engine commands and server events, and
owns every piece of protocol state: the session object, items, responses and what the
client said that nobody has answered yet, the function calls that wait for the
client's outputs. Nothing else writes its fields.

Every engine turn ends with one ``TurnEnded``, so every response ends with one
``response.done`` — a failed turn too — and a new ``response.create`` is accepted.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ballsy.assistant.text import clean_command_text
from ballsy.config import Settings
from ballsy.errors import BallsyError, InvalidInput, NotFound
from ballsy.llm.base import ToolCall
from ballsy.observability.logging import get_logger
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import (
    Announcement,
    FunctionCallsRequested,
    InputCommitted,
    ReplyAudio,
    ReplyDelta,
    ResponseStarted,
    SessionError,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TurnEnded,
    TurnError,
    TurnStatus,
)
from ballsy.realtime.wire.openai.function_calls import FunctionCalls
from ballsy.realtime.wire.openai.pending import PendingInput
from ballsy.realtime.wire.openai.protocol import (
    AudioAppendEvent,
    AudioClearEvent,
    AudioCommitEvent,
    ClientEvent,
    ClientEventError,
    FunctionCallItem,
    FunctionCallOutputItem,
    ItemCreateEvent,
    ItemTruncateEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    ResponseSpec,
    SessionUpdateEvent,
    new_id,
)
from ballsy.realtime.wire.openai.server_events import (
    ResponseShape,
    ServerEvents,
    error_type,
    function_call_item,
)
from ballsy.realtime.wire.openai.session_config import RealtimeSessionConfig, SessionConfigError

log = get_logger("ballsy.realtime.openai")

REMEMBERED_ITEMS = 16  # assistant items a client may still truncate


@dataclass(slots=True)
class _Response:
    shape: ResponseShape
    instructions: str | None = None
    turn_id: str | None = None
    """The engine turn producing it; None while it waits for a transcript."""
    started: bool = False
    cancel_reason: str = "turn_detected"
    message: Literal["none", "open", "closed"] = "none"
    """The assistant message item: opened by the reply's first words."""
    words: list[str] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)
    """The closed output items (the message, then function calls)."""


@dataclass(slots=True)
class _UserAudio:
    """Committed user audio: its conversation item, until its transcript comes."""

    item_id: str
    responds: bool
    """The engine answers it by itself (server VAD with ``create_response``)."""
    seconds: float = 0.0


class RealtimeConversation:
    def __init__(
        self,
        session: VoiceSession,
        events: ServerEvents,
        config: RealtimeSessionConfig,
        *,
        settings: Settings,
        voices: Sequence[str],
    ) -> None:
        self._session = session
        self._events = events
        self._config = config
        self._settings = settings
        self._voices = tuple(voices)
        self._max_text = settings.max_command_length
        self._last_item_id: str | None = None
        self._speech_item: str | None = None  # the user item VAD is hearing now
        self._user_audio: dict[str, _UserAudio] = {}  # by turn id, until transcribed
        self._awaited: str | None = None  # the audio turn whose transcript a response needs
        self._pending = PendingInput.from_settings(settings)  # text nobody answered yet
        self._calls = FunctionCalls()  # the client's function calls waiting for outputs
        self._last_text: str | None = None  # the user text last answered
        self._active: _Response | None = None  # the response in progress
        self._responses: dict[str, _Response] = {}  # by turn id, while the engine runs them
        self._assistant_items: OrderedDict[str, str] = OrderedDict()  # item id -> turn id
        self._after_done: dict[str, list[dict[str, Any]]] = {}  # truncated, once done is sent
        self._tasks: set[asyncio.Task[None]] = set()

    def opened(self, session_id: str) -> None:
        self._config = replace(self._config, id=f"sess_{session_id}")
        self._events.send("session.created", session=self._session_json())

    async def close(self) -> None:
        """Cancel the conversation's own work (truncations, remembered context)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)

    # --- client events -------------------------------------------------------------------

    async def handle(self, event: ClientEvent) -> None:
        """Apply one client event; raises ``ClientEventError`` or ``BallsyError`` to refuse."""
        match event:
            case AudioAppendEvent():
                self._session.feed_audio(event.audio)
            case SessionUpdateEvent():
                self._update(event)
            case AudioCommitEvent():
                await self._commit()
            case AudioClearEvent():
                self._session.clear_input()
                self._speech_item = None
                self._events.send("input_audio_buffer.cleared")
            case ItemCreateEvent():
                await self._create_item(event)
            case ItemTruncateEvent():
                self._truncate(event)
            case ResponseCreateEvent():
                self._create_response(event.response or ResponseSpec())
            case ResponseCancelEvent():
                self._cancel(event.response_id)

    def _update(self, event: SessionUpdateEvent) -> None:
        try:
            config = self._config.updated(event.session, self._settings, self._voices)
        except SessionConfigError as exc:
            raise ClientEventError("invalid_value", exc.message, exc.param) from None
        if config.turn_detection != self._config.turn_detection:
            self._speech_item = None  # the engine restarts its VAD
        self._config = config
        self._session.update(config.engine_options(self._settings, self._voices))
        self._events.send("session.updated", session=self._session_json())

    async def _commit(self) -> None:
        manual = not self._session.options.server_vad
        turn_id = await self._session.commit()  # with server VAD, SpeechStopped follows
        if turn_id is None:
            raise ClientEventError("input_audio_buffer_commit_empty", "no audio to commit")
        if manual:
            # Announced now, not when InputCommitted is rendered: the client's next event
            # (often response.create) must already see the committed item.
            self._audio_committed(turn_id, item_id=new_id("item"))

    async def _create_item(self, event: ItemCreateEvent) -> None:
        item = event.item
        if isinstance(item, FunctionCallItem):
            call = ToolCall(item.call_id or new_id("call"), item.name, item.arguments)
            self._calls.add_call(call)
            item_id = item.id or new_id("item")
            self._add_item(
                function_call_item(item_id, call, status="completed", arguments=call.arguments)
            )
            return
        if isinstance(item, FunctionCallOutputItem):
            self._calls.add_output(item.call_id, item.output)
            self._add_item(
                self._events.function_call_output_item(
                    item.id or new_id("item"), item.call_id, item.output
                )
            )
            return
        try:
            text = clean_command_text(item.text, max_length=self._max_text)
        except InvalidInput as exc:
            raise ClientEventError(exc.code, exc.message, "item.content") from None
        item_id = item.id or new_id("item")
        if item.role == "user":
            self._pending.hold(text)
            self._add_item(self._events.user_text_item(item_id, text))
            return
        # Context the client writes into the assistant's memory counts as a turn.
        await self._session.ports.limiter.admit(self._session.user)
        said = [("user", line) for line in self._pending.take()] + [("assistant", text)]
        self._spawn(self._remember(said))
        self._add_item(
            self._events.assistant_item(item_id, audio=False, text=text, status="completed")
        )

    async def _remember(self, said: list[tuple[str, str]]) -> None:
        try:
            await self._session.ports.responder.remember(self._session.user, said)
        except BallsyError as exc:
            self._events.refuse(ClientEventError(exc.code, exc.message))
        except Exception:
            log.exception("ballsy.realtime.remember_failed")
            self._events.error("internal_error", "the item was not stored", kind="server_error")

    def _create_response(self, spec: ResponseSpec) -> None:
        if self._active is not None:
            message = f"response {self._active.shape.id} is still in progress"
            raise ClientEventError("conversation_already_has_active_response", message)
        if not self._pending and self._awaited is None:
            refusal = self._calls.not_ready(self._last_text)
            if refusal is not None:
                raise refusal
        audio = spec.audio if spec.audio is not None else self._config.audio_output
        shape = ResponseShape.new(audio=audio, voice=self._config.voice)
        response = _Response(shape, instructions=spec.instructions or None)
        self._active = response
        self._events.response_created(shape)
        if self._awaited is None:
            self._start(response)
        # else: it starts when the committed audio's transcript comes

    def _start(self, response: _Response) -> None:
        text = "\n".join(self._pending.take())
        follow = self._calls.take(text, self._last_text)  # the function calls' results
        try:
            if follow is None:
                turn_id = self._session.submit_text(
                    text, instructions=response.instructions, speak=response.shape.audio
                )
            else:
                text = follow.user_text
                turn_id = self._session.submit_text(
                    text,
                    instructions=response.instructions,
                    speak=response.shape.audio,
                    continuation=follow.messages,
                    tools=None if follow.tools_offered else (),
                )
        except BallsyError as exc:
            self._finish(response, "failed", error=TurnError(exc.code, exc.message))
            self._events.error(exc.code, exc.message, kind=error_type(exc.code))
            return
        response.turn_id = turn_id
        self._responses[turn_id] = response
        self._last_text = text

    def _cancel(self, response_id: str | None) -> None:
        response = self._active
        if response is None or (response_id is not None and response_id != response.shape.id):
            raise ClientEventError("response_cancel_not_active", "no such response in progress")
        response.cancel_reason = "client_cancelled"
        if response.turn_id is None:  # still waiting for a transcript: the engine never had it
            self._finish(response, "cancelled")
        else:
            self._session.interrupt()  # its TurnEnded ends it

    def _truncate(self, event: ItemTruncateEvent) -> None:
        turn_id = self._assistant_items.get(event.item_id)
        if turn_id is None or event.content_index != 0:
            message = "no assistant audio item with that id in this session"
            raise ClientEventError("item_truncate_invalid_item_id", message, "item_id")
        if (response := self._responses.get(turn_id)) is not None:
            response.cancel_reason = "client_cancelled"  # a reply still playing stops
        self._spawn(self._truncated(event.item_id, turn_id, event.audio_end_ms))

    async def _truncated(self, item_id: str, turn_id: str, end_ms: int) -> None:
        try:
            await self._session.truncate(turn_id, end_ms)
        except NotFound as exc:
            refusal = ClientEventError("item_truncate_invalid_item_id", exc.message, "item_id")
            self._events.refuse(refusal)
            return
        except BallsyError as exc:
            self._events.refuse(ClientEventError("invalid_value", exc.message, "audio_end_ms"))
            return
        truncated = {"item_id": item_id, "content_index": 0, "audio_end_ms": end_ms}
        if turn_id in self._responses:  # its response.done is still in the queue: after it
            self._after_done.setdefault(turn_id, []).append(truncated)
        else:
            self._events.send("conversation.item.truncated", **truncated)

    # --- engine events -------------------------------------------------------------------

    def render(self, event: SessionEvent) -> None:
        """One engine event, in order, from the connection's task."""
        match event:
            case ReplyAudio():
                if (response := self._speaking(event.turn_id)) is not None:
                    self._events.response_audio(response.shape, event.pcm)
            case ReplyDelta():
                if (response := self._speaking(event.turn_id)) is not None:
                    response.words.append(event.text)
                    self._events.response_text(response.shape, event.text)
            case FunctionCallsRequested():
                self._functions_called(event)
            case SpeechStarted():
                self._speech_item = new_id("item")
                self._events.send(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=event.audio_ms,
                    item_id=self._speech_item,
                )
            case SpeechStopped():
                item_id, self._speech_item = self._speech_item or new_id("item"), None
                self._events.send(
                    "input_audio_buffer.speech_stopped",
                    audio_end_ms=event.audio_ms,
                    item_id=item_id,
                )
                seconds = (event.audio_ms - event.started_ms) / 1000
                self._audio_committed(event.turn_id, item_id=item_id, seconds=seconds)
            case InputCommitted():
                self._audio_committed(event.turn_id, seconds=event.audio_ms / 1000)
            case TranscriptFinal():
                self._transcribed(event)
            case ResponseStarted():
                self._response_started(event.turn_id)
            case TurnEnded():
                self._turn_ended(event)
            case Announcement():
                self._announced(event.turn_id)
            case SessionError():
                self._events.error(event.code, event.message, kind="server_error")
            case _:
                pass  # partial transcripts (off here), Interrupted, InputOverrun (the lifetime's)

    def _audio_committed(
        self, turn_id: str, *, item_id: str | None = None, seconds: float | None = None
    ) -> None:
        """Audio became a user item (VAD end of speech, or a commit); once per turn."""
        known = self._user_audio.get(turn_id)
        if known is not None:
            if seconds is not None:
                known.seconds = max(0.0, seconds)
            return
        responds = self._session.options.auto_respond
        audio = _UserAudio(item_id or new_id("item"), responds, max(0.0, seconds or 0.0))
        self._user_audio[turn_id] = audio
        if not responds:  # the newest turn is the one a response waits for
            self._awaited = turn_id
        self._events.send(
            "input_audio_buffer.committed",
            item_id=audio.item_id,
            previous_item_id=self._last_item_id,
        )
        self._add_item(self._events.user_audio_item(audio.item_id))

    def _transcribed(self, event: TranscriptFinal) -> None:
        audio = self._user_audio.pop(event.turn_id, None)
        if audio is None:
            return
        if self._config.transcription is not None:
            self._events.send(
                "conversation.item.input_audio_transcription.completed",
                item_id=audio.item_id,
                content_index=0,
                transcript=event.text,
                usage={"type": "duration", "seconds": round(audio.seconds, 3)},
            )
        if audio.responds:
            self._last_text = event.text or self._last_text
            return
        if event.text:
            try:
                self._pending.hold(event.text)
            except ClientEventError as refusal:  # not the client's event: not counted
                self._events.error(refusal.code, refusal.message)
        if self._awaited == event.turn_id:
            self._awaited = None
            waiting = self._active
            if waiting is not None and waiting.turn_id is None:
                if self._pending:
                    self._start(waiting)
                else:
                    self._finish(waiting, "failed", error=TurnError("input_missing", "no speech"))

    def _response_started(self, turn_id: str) -> None:
        response = self._responses.get(turn_id)
        if response is None:  # the engine answered speech by itself (server VAD)
            if self._active is not None and self._active.turn_id is None:
                self._finish(self._active, "cancelled")  # it waited on audio never answered
            self._pending.take()  # the engine answered the speech, not the typed text
            self._calls.drop()  # and calls still waiting for outputs are left behind
            config = self._config
            shape = ResponseShape.new(audio=config.audio_output, voice=config.voice)
            response = self._active = self._responses[turn_id] = _Response(shape, turn_id=turn_id)
            self._events.response_created(shape)
        response.started = True

    def _speaking(self, turn_id: str) -> _Response | None:
        """The response of ``turn_id`` with its message item open (opened now by the
        reply's first words: until then it may still become function calls)."""
        response = self._responses.get(turn_id)
        if response is None or response.message == "closed":
            return None
        if response.message == "none":
            self._open_message(response)
        return response

    def _open_message(self, response: _Response) -> None:
        response.message = "open"
        self._events.message_added(response.shape, self._last_item_id)
        self._last_item_id = response.shape.item_id
        self._assistant_items[response.shape.item_id] = response.turn_id or ""
        while len(self._assistant_items) > REMEMBERED_ITEMS:
            self._assistant_items.popitem(last=False)

    def _close_message(self, response: _Response, status: TurnStatus, text: str) -> None:
        if response.message == "open":
            response.output.append(self._events.message_done(response.shape, status, text))
        response.message = "closed"

    def _functions_called(self, event: FunctionCallsRequested) -> None:
        """The model called the client's functions: after what it said, one
        ``function_call`` item per call; the calls wait for the client's outputs."""
        response = self._responses.get(event.turn_id)
        if response is None:
            return
        self._close_message(response, "completed", "".join(response.words).strip())
        for call in event.calls:
            item_id = new_id("item")
            item = self._events.function_call(
                response.shape,
                call,
                item_id=item_id,
                output_index=len(response.output),
                previous_item_id=self._last_item_id,
            )
            self._last_item_id = item_id
            response.output.append(item)
        self._calls.requested(event)

    def _announced(self, turn_id: str) -> None:
        """Ballsy speaks up by itself (a due timer): a server-initiated response, like a
        server-VAD answer, that leaves the client's pending input alone."""
        config = self._config
        shape = ResponseShape.new(audio=config.audio_output, voice=config.voice)
        response = self._responses[turn_id] = _Response(shape, turn_id=turn_id)
        if self._active is None:
            self._active = response
        self._events.response_created(shape)

    def _turn_ended(self, event: TurnEnded) -> None:
        self._user_audio.pop(event.turn_id, None)
        response = self._responses.get(event.turn_id)
        if response is not None:
            self._finish(
                response, event.status, text=event.full_text, usage=event.usage, error=event.error
            )
            return
        if self._awaited == event.turn_id:  # its transcript never came
            self._awaited = None
            waiting = self._active
            if waiting is not None and waiting.turn_id is None:
                status: TurnStatus = "cancelled" if event.status == "cancelled" else "failed"
                self._finish(waiting, status, error=event.error)
                return
        if event.status == "failed" and event.error is not None:
            self._events.error(event.error.code, event.error.message, kind="server_error")

    def _finish(
        self,
        response: _Response,
        status: TurnStatus,
        *,
        text: str = "",
        usage: dict[str, int] | None = None,
        error: TurnError | None = None,
    ) -> None:
        """``response.done``, exactly once; the conversation may take a new response."""
        if response.started and response.message == "none" and not response.output:
            self._open_message(response)  # a reply without words still has its item
        self._close_message(response, status, text)
        self._events.response_done(
            response.shape,
            status,
            output=response.output,
            usage=usage,
            error=error,
            cancel_reason=response.cancel_reason,
        )
        if response.turn_id is not None:
            self._responses.pop(response.turn_id, None)
            for truncated in self._after_done.pop(response.turn_id, []):
                self._events.send("conversation.item.truncated", **truncated)
        if self._active is response:
            self._active = None

    # --- helpers -------------------------------------------------------------------------

    def _add_item(self, item: dict[str, Any]) -> None:
        self._events.item_added(item, self._last_item_id)
        self._last_item_id = str(item["id"])

    def _session_json(self) -> dict[str, Any]:
        return self._config.as_json(self._events.dialect, self._settings)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
