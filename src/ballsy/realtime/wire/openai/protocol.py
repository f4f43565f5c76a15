"""The OpenAI Realtime protocol on the wire: client events in, server events out.

Client events are parsed once, here, into :data:`ClientEvent` — a pydantic union
discriminated on ``type`` — so the conversation only sees well-formed events. An
event the server cannot take becomes a :class:`ClientEventError` with OpenAI's error
``code`` and the ``param`` it is about (``unknown_event``, ``invalid_value``,
``missing_required_parameter``, ``unsupported_item``…).

Server events are built in :mod:`~ballsy.realtime.wire.openai.server_events`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ballsy.realtime.wire.openai.session_config import (
    FUNCTION_NAME,
    MAX_INSTRUCTIONS,
    SessionUpdate,
)

_TEXT_PARTS = frozenset({"input_text", "text", "output_text"})
_SPOKEN_PARTS = frozenset({"audio", "output_audio"})
_OWN_CODES = frozenset({"unsupported_item", "unsupported_content"})
"""Validation errors raised under their own OpenAI code (else ``invalid_value``)."""
_ITEM_TYPES = ("message", "function_call", "function_call_output")
MAX_CALL_ID = 128
MAX_ARGUMENTS = 16_000
"""Longest ``arguments`` of a client's own ``function_call`` item (JSON text)."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class ClientEventError(Exception):
    """A client event the server refuses: answered with an ``error`` event."""

    def __init__(
        self, code: str, message: str, param: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.param, self.event_id = code, message, param, event_id


# --- client events -------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Event(_Model):
    event_id: str | None = Field(default=None, max_length=128)


def _pcm16(value: object) -> bytes:
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_value", "audio must be base64-encoded pcm16 text")
    try:
        pcm = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("invalid_value", "audio is not valid base64") from None
    if len(pcm) % 2:
        raise PydanticCustomError("invalid_value", "pcm16 audio must have an even number of bytes")
    return pcm


def _known_item(value: object) -> object:
    if isinstance(value, dict) and value.get("type", "message") not in _ITEM_TYPES:
        message = "only message, function_call and function_call_output items are supported"
        raise PydanticCustomError("unsupported_item", message, {"param": "item.type"})
    return value


def _item_type(value: Any) -> str:
    return str(value.get("type", "message")) if isinstance(value, dict) else "message"


def _role(value: object) -> object:
    if value not in ("user", "assistant"):
        message = "only user and assistant messages; use session instructions"
        raise PydanticCustomError("unsupported_item", message)
    return value


class SessionUpdateEvent(_Event):
    type: Literal["session.update"]
    session: SessionUpdate


class AudioAppendEvent(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: Annotated[bytes, BeforeValidator(_pcm16)]
    """The decoded PCM16 (24 kHz mono); base64 text on the wire."""


class AudioCommitEvent(_Event):
    type: Literal["input_audio_buffer.commit"]


class AudioClearEvent(_Event):
    type: Literal["input_audio_buffer.clear"]


class ContentPart(_Model):
    type: str = Field(max_length=32)
    text: str | None = None
    transcript: str | None = None

    def value(self) -> str | None:
        if self.type in _TEXT_PARTS:
            return self.text
        if self.type in _SPOKEN_PARTS:
            return self.transcript
        return None


class MessageItem(_Model):
    id: str | None = Field(default=None, max_length=64)
    type: Literal["message"] = "message"
    role: Annotated[Literal["user", "assistant"], BeforeValidator(_role)]
    content: list[ContentPart] = Field(min_length=1, max_length=32)

    @field_validator("content")
    @classmethod
    def _has_text(cls, parts: list[ContentPart]) -> list[ContentPart]:
        if any(part.value() is None for part in parts):
            message = "content parts must be text (input_text, text, output_text)"
            raise PydanticCustomError("unsupported_content", message)
        if not " ".join(str(part.value()) for part in parts).strip():
            raise PydanticCustomError("invalid_value", "the message has no text")
        return parts

    @property
    def text(self) -> str:
        """The text of the content parts (typed text, or an audio transcript)."""
        return " ".join(str(part.value()) for part in self.content).strip()


class FunctionCallItem(_Model):
    """A call the client made itself (or one it re-sends): it joins the calls that
    wait for their outputs."""

    id: str | None = Field(default=None, max_length=64)
    type: Literal["function_call"]
    call_id: str | None = Field(default=None, min_length=1, max_length=MAX_CALL_ID)
    name: str = Field(pattern=FUNCTION_NAME)
    arguments: str = Field(default="{}", max_length=MAX_ARGUMENTS)

    @field_validator("arguments")
    @classmethod
    def _json(cls, arguments: str) -> str:
        try:
            json.loads(arguments)
        except ValueError:
            raise PydanticCustomError("invalid_value", "arguments must be JSON text") from None
        return arguments


class FunctionCallOutputItem(_Model):
    """The result of a function call, for the response that continues the answer."""

    id: str | None = Field(default=None, max_length=64)
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=MAX_CALL_ID)
    output: str
    """Its length is checked by the conversation (``invalid_input`` past the limit)."""


ConversationItemIn = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(_item_type),
]


class ItemCreateEvent(_Event):
    type: Literal["conversation.item.create"]
    item: Annotated[ConversationItemIn, BeforeValidator(_known_item)]
    previous_item_id: str | None = None


class ItemTruncateEvent(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str = Field(max_length=64)
    content_index: StrictInt = Field(default=0, ge=0)
    audio_end_ms: StrictInt = Field(ge=0)


class ResponseSpec(_Model):
    instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS)
    modalities: list[Literal["text", "audio"]] | None = None
    output_modalities: list[Literal["text", "audio"]] | None = None

    @property
    def audio(self) -> bool | None:
        """Whether the response speaks; None: as the session says."""
        modalities = self.output_modalities or self.modalities
        return "audio" in modalities if modalities else None


class ResponseCreateEvent(_Event):
    type: Literal["response.create"]
    response: ResponseSpec | None = None


class ResponseCancelEvent(_Event):
    type: Literal["response.cancel"]
    response_id: str | None = Field(default=None, max_length=64)


ClientEvent = Annotated[
    SessionUpdateEvent
    | AudioAppendEvent
    | AudioCommitEvent
    | AudioClearEvent
    | ItemCreateEvent
    | ItemTruncateEvent
    | ResponseCreateEvent
    | ResponseCancelEvent,
    Field(discriminator="type"),
]
_CLIENT_EVENTS: TypeAdapter[ClientEvent] = TypeAdapter(ClientEvent)
CLIENT_EVENT_TYPES = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.truncate",
        "response.create",
        "response.cancel",
    }
)


def parse_client_event(text: str | None) -> ClientEvent:
    """One WebSocket text frame as a client event; raises :class:`ClientEventError`."""
    if text is None:
        raise ClientEventError("invalid_event", "send JSON text events; audio goes in appends")
    try:
        body = json.loads(text)
    except ValueError:
        raise ClientEventError("invalid_json", "the event is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ClientEventError("invalid_event", 'an event is a JSON object with a string "type"')
    given = body.get("event_id")
    event_id = given[:128] if isinstance(given, str) else None
    kind: str = body["type"]
    if kind not in CLIENT_EVENT_TYPES:
        raise ClientEventError("unknown_event", f"unsupported event {kind[:60]!r}", None, event_id)
    try:
        return _CLIENT_EVENTS.validate_python(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        # [0] is the event's tag; an item's own tag is not part of the field's name
        loc = [str(part) for part in first["loc"][1:]]
        if loc[:1] == ["item"] and loc[1:2] and loc[1] in _ITEM_TYPES:
            del loc[1]
        param = (first.get("ctx") or {}).get("param") or ".".join(loc) or None
        if first["type"] == "missing":
            code = "missing_required_parameter"
        else:
            code = first["type"] if first["type"] in _OWN_CODES else "invalid_value"
        message = f"{param}: {first['msg']}" if param else first["msg"]
        raise ClientEventError(code, message, param, event_id) from None
