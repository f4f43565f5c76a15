"""``/v1/realtime``: the OpenAI Realtime API over Ballsy's conversation engine.

The official ``openai`` SDK (``client.realtime.connect`` for the GA API,
``client.beta.realtime.connect`` for the beta one) holds a spoken conversation here:
pcm16 at 24 kHz in ``input_audio_buffer.append``, server VAD or manual commits,
replies as ``response.*`` events with base64 audio. This module reads client events;
the conversation's items and responses are :mod:`~ballsy.realtime.openai_conversation`'s,
the session object :mod:`~ballsy.realtime.openai_session`'s, wire shapes
:mod:`~ballsy.realtime.openai_wire`'s and the connection's lifetime
:mod:`~ballsy.realtime.lifetime`'s. docs/realtime.md ("OpenAI Realtime
compatibility") lists what is supported.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Coroutine, MutableMapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.exceptions import WebSocketException

from ballsy.errors import BallsyError, NotFound
from ballsy.realtime.engine import SessionOptions, VoiceSession
from ballsy.realtime.lifetime import serve_connection
from ballsy.realtime.openai_conversation import RealtimeConversation
from ballsy.realtime.openai_session import (
    RATE,
    Dialect,
    RealtimeSessionConfig,
    SessionConfigError,
)
from ballsy.realtime.openai_wire import ResponseStream, ServerEvents, new_id
from ballsy.realtime.transport import POLICY_VIOLATION, Outbox
from ballsy.security.websocket import authenticate_websocket
from ballsy.services import Services

router = APIRouter(tags=["realtime"])

MAX_ERRORS = 20  # client errors tolerated before the socket is closed
MAX_BUFFER_S = 60.0
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
_TEXT_PARTS = frozenset({"input_text", "text", "output_text"})
_SPOKEN_PARTS = frozenset({"audio", "output_audio"})


class ClientEventError(Exception):
    """A client event the server refuses: answered with an ``error`` event."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


class OpenAIRealtimeConnection:
    """One client of ``/v1/realtime``: its session config, engine and conversation."""

    def __init__(
        self, websocket: WebSocket, services: Services, client_id: str, dialect: Dialect, model: str
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.client_id = client_id
        self.outbox = Outbox(websocket, max_messages=self.settings.realtime_send_queue)
        self.events = ServerEvents(self.outbox, dialect)
        self.voices = services.speech.tts_voices()
        self.config = RealtimeSessionConfig.default(
            self.settings, model=model, voice=services.speech.default_voice()
        )
        self.conversation = RealtimeConversation(self.events, self.config)
        self.session = self.conversation.session = VoiceSession(
            services, client_id=client_id, emit=self.conversation.on_event, options=self._options()
        )
        self.errors = 0
        self.buffered_s = 0.0  # manual turn-taking: audio appended since the last commit
        self.tasks: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "session.update": self.on_session_update,
            "input_audio_buffer.append": self.on_append,
            "input_audio_buffer.commit": self.on_commit,
            "input_audio_buffer.clear": self.on_clear,
            "conversation.item.create": self.on_item_create,
            "conversation.item.truncate": self.on_truncate,
            "response.create": self.on_response_create,
            "response.cancel": self.on_response_cancel,
        }

    def _options(self) -> SessionOptions:
        return self.config.engine_options(self.settings, self.voices)

    # --- lifetime (ballsy.realtime.lifetime) ------------------------------------------

    def opened(self, session_id: str) -> None:
        self.config = replace(self.config, id=f"sess_{session_id}")
        self.events.send("session.created", session=self._session_json())

    def notice(self, code: str, message: str) -> None:
        kind = "invalid_request_error" if code == "frame_too_large" else "server_error"
        self.events.error(code, message, kind=kind)

    def ping(self) -> None:
        """The Realtime protocol has no ping event; WebSocket pings keep it alive."""

    @property
    def busy(self) -> bool:
        return self.session.responding

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks)
        await self.session.close()

    def _session_json(self) -> dict[str, Any]:
        return self.config.as_json(self.events.dialect, self.settings)

    def error(
        self, code: str, message: str, *, param: str | None = None, event_id: str | None = None
    ) -> None:
        self.errors += 1
        self.events.error(code, message, param=param, event_id=event_id)
        if self.errors >= MAX_ERRORS:
            self.outbox.close(POLICY_VIOLATION, "too many client errors")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- client events ---------------------------------------------------------------

    def on_message(self, message: MutableMapping[str, Any]) -> None:
        text = message.get("text")
        if text is None:
            self.error("invalid_event", "send JSON text events; audio goes in base64 appends")
            return
        try:
            body = json.loads(text)
        except ValueError:
            self.error("invalid_json", "the event is not valid JSON")
            return
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            self.error("invalid_event", 'an event is a JSON object with a string "type"')
            return
        event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
        handler = self.handlers.get(body["type"])
        try:
            if handler is None:
                raise ClientEventError("unknown_event", f"unsupported event {body['type'][:60]!r}")
            handler(body)
        except ClientEventError as exc:
            self.error(exc.code, exc.message, param=exc.param, event_id=event_id)
        except BallsyError as exc:
            self.error(exc.code, exc.message, event_id=event_id)

    def on_session_update(self, body: dict[str, Any]) -> None:
        session = body.get("session")
        if not isinstance(session, dict):
            raise ClientEventError("missing_required_parameter", "session must be an object")
        previous = self.config
        try:
            self.config = previous.updated(session, self.settings, self.voices)
        except SessionConfigError as exc:
            raise ClientEventError("invalid_value", exc.message, exc.param) from None
        self.conversation.config = self.config
        if self.config.turn_detection != previous.turn_detection:
            self.conversation.speech = None  # the engine restarts its VAD
        self.session.update(self._options())
        self.events.send("session.updated", session=self._session_json())

    def on_append(self, body: dict[str, Any]) -> None:
        audio = body.get("audio")
        if not isinstance(audio, str):
            raise ClientEventError("missing_required_parameter", "audio: base64 pcm16", "audio")
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ClientEventError("invalid_value", "audio is not valid base64", "audio") from None
        self.session.feed_audio(pcm)
        self.buffered_s = min(MAX_BUFFER_S, self.buffered_s + len(pcm) / 2 / RATE)

    def on_commit(self, body: dict[str, Any]) -> None:
        manual = not self.session.options.server_vad
        turn_id = self.session.commit()  # with server VAD, SpeechStopped announces the item
        if turn_id is None:
            raise ClientEventError("input_audio_buffer_commit_empty", "no audio to commit")
        if manual:
            self.conversation.user_audio_committed(turn_id, new_id("item"), self.buffered_s)
        self.buffered_s = 0.0

    def on_clear(self, body: dict[str, Any]) -> None:
        self.session.clear_input()
        self.conversation.speech, self.buffered_s = None, 0.0
        self.events.send("input_audio_buffer.cleared")

    def on_item_create(self, body: dict[str, Any]) -> None:
        item = body.get("item")
        if not isinstance(item, dict):
            raise ClientEventError("missing_required_parameter", "item must be an object", "item")
        if item.get("type", "message") != "message":
            raise ClientEventError("unsupported_item", "only message items", "item.type")
        role, text = item.get("role"), _item_text(item.get("content"))
        given = item.get("id")
        item_id = given if isinstance(given, str) and 0 < len(given) <= 64 else new_id("item")
        conversation = self.conversation
        if role == "user":
            conversation.pending.append(text)
            created = self.events.user_text_item(item_id, text)
        elif role == "assistant":
            said = [("user", line) for line in conversation.pending] + [("assistant", text)]
            conversation.pending = []
            self._spawn(self._remember(said))
            created = self.events.assistant_item(
                item_id, audio=False, text=text, status="completed"
            )
        else:
            message = "only user and assistant messages; use session instructions"
            raise ClientEventError("unsupported_item", message, "item.role")
        conversation.add_item(created)

    async def _remember(self, said: list[tuple[str, str]]) -> None:
        try:
            await self.services.assistant.remember(self.client_id, said)
        except BallsyError as exc:
            self.error(exc.code, exc.message)

    def on_response_create(self, body: dict[str, Any]) -> None:
        conversation = self.conversation
        if conversation.response is not None:
            message = f"response {conversation.response.id} is still in progress"
            raise ClientEventError("conversation_already_has_active_response", message)
        spec = body.get("response") or {}
        if not isinstance(spec, dict):
            raise ClientEventError("invalid_value", "response must be an object", "response")
        instructions = spec.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ClientEventError("invalid_value", "must be a string", "response.instructions")
        modalities = spec.get("output_modalities") or spec.get("modalities")
        if modalities is not None and not (
            isinstance(modalities, list) and set(modalities) <= {"text", "audio"}
        ):
            raise ClientEventError("invalid_value", "text and/or audio", "response.modalities")
        if not conversation.pending and conversation.transcribing is None:
            message = "nothing to answer: add a user message or commit audio first"
            raise ClientEventError("input_missing", message)
        audio = "audio" in modalities if modalities else self.config.audio_output
        response = ResponseStream(self.events, audio=audio, voice=self.config.voice)
        response.instructions = instructions or None
        conversation.create_response(response)

    def on_response_cancel(self, body: dict[str, Any]) -> None:
        response = self.conversation.response
        wanted = body.get("response_id")
        if response is None or (wanted is not None and wanted != response.id):
            raise ClientEventError("response_cancel_not_active", "no such response in progress")
        self.conversation.cancel(response)

    def on_truncate(self, body: dict[str, Any]) -> None:
        item_id, end_ms = body.get("item_id"), body.get("audio_end_ms")
        if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
            raise ClientEventError("invalid_value", "a number of ms >= 0", "audio_end_ms")
        items = self.conversation.assistant_items
        turn_id = items.get(item_id) if isinstance(item_id, str) else None
        if turn_id is None or body.get("content_index", 0) != 0:
            message = "no assistant audio item with that id in this session"
            raise ClientEventError("item_truncate_invalid_item_id", message, "item_id")
        if (response := self.conversation.responses.get(turn_id)) is not None:
            response.cancel_reason = "client_cancelled"  # a reply still playing stops
        self._spawn(self._truncate(str(item_id), turn_id, end_ms))

    async def _truncate(self, item_id: str, turn_id: str, end_ms: int) -> None:
        try:
            await self.session.truncate(turn_id, end_ms)
        except NotFound as exc:
            self.error("item_truncate_invalid_item_id", exc.message, param="item_id")
            return
        except BallsyError as exc:
            self.error("invalid_value", exc.message, param="audio_end_ms")
            return
        self.events.send(
            "conversation.item.truncated", item_id=item_id, content_index=0, audio_end_ms=end_ms
        )


def _item_text(content: object) -> str:
    """The text of a message item's content parts (typed text, or an audio transcript)."""
    if not isinstance(content, list) or not content:
        raise ClientEventError("invalid_value", "content must be a list of parts", "item.content")
    texts: list[str] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        value = None
        if kind in _TEXT_PARTS:
            value = part.get("text")
        elif kind in _SPOKEN_PARTS:
            value = part.get("transcript")
        if not isinstance(value, str):
            message = "content parts must be text (input_text, text, output_text)"
            raise ClientEventError("unsupported_content", message, "item.content")
        texts.append(value)
    text = " ".join(texts).strip()
    if not text:
        raise ClientEventError("invalid_value", "the message has no text", "item.content")
    return text


def _dialect(websocket: WebSocket, offered: list[str]) -> Dialect:
    beta = "realtime=v1" in websocket.headers.get("openai-beta", "")
    return "beta" if beta or BETA_SUBPROTOCOL in offered else "ga"


@router.websocket("/v1/realtime")
async def realtime_socket(websocket: WebSocket) -> None:
    model = websocket.query_params.get("model") or "ballsy"
    if len(model) > 128 or not model.isprintable():
        raise WebSocketException(POLICY_VIOLATION, reason="invalid model")
    header = websocket.headers.get("sec-websocket-protocol", "")
    offered = [p.strip() for p in header.split(",") if p.strip()]
    # Browsers offer "realtime" and fail the handshake unless the server picks it.
    subprotocol = "realtime" if "realtime" in offered else None
    principal = await authenticate_websocket(websocket, subprotocol=subprotocol)
    services: Services = websocket.app.state.services
    dialect = _dialect(websocket, offered)
    try:
        connection = OpenAIRealtimeConnection(websocket, services, principal.name, dialect, model)
    except BallsyError as exc:
        error = {"type": "server_error", "code": exc.code, "message": exc.message}
        await websocket.send_json({"type": "error", "event_id": new_id("event"), "error": error})
        await websocket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    await serve_connection(
        websocket,
        connection,
        user_id=principal.user_id,
        device=f"openai-realtime:{model}",
        endpoint="openai_realtime",
    )
