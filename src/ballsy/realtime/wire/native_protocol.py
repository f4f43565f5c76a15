"""The native protocol's client messages, as types: parse a JSON text frame once.

:func:`parse_message` turns one text frame into a :data:`ClientMessage` (a pydantic
discriminated union on ``type``) or a :class:`ProtocolError` carrying the error code
the client is told (docs/realtime.md lists them). :func:`command_for` and
:func:`configured` turn messages into the engine's typed commands and options; the
connection (:mod:`ballsy.realtime.wire.native`) only dispatches.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from ballsy.realtime.session.commands import (
    AppendAudio,
    CommitInput,
    Interrupt,
    SessionCommand,
    SubmitText,
)
from ballsy.realtime.session.options import SessionOptions


def _base64_pcm(value: object) -> bytes:
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_audio", '"data" must be base64 PCM16 in a string')
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("invalid_audio", '"data" is not valid base64') from None


class _Message(BaseModel):
    # Unknown fields are ignored (clients may add their own), except in ``config``.
    model_config = ConfigDict(extra="ignore", frozen=True)


class AudioMessage(_Message):
    type: Literal["audio"]
    data: Annotated[bytes, BeforeValidator(_base64_pcm)]
    """PCM16 little-endian mono at the session's input rate (decoded)."""


class TextMessage(_Message):
    type: Literal["text"]
    text: str
    """A typed turn; emptiness and length are the engine's to judge (``invalid_input``)."""


class PingMessage(_Message):
    type: Literal["ping"]
    ts: JsonValue = None
    """Echoed in the ``pong``."""


class PongMessage(_Message):
    type: Literal["pong"]
    ts: JsonValue = None


class CommitMessage(_Message):
    type: Literal["commit"]


class InterruptMessage(_Message):
    type: Literal["interrupt", "cancel"]


class VadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    silence_ms: int | None = Field(default=None, ge=100, le=5000)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=2000)
    min_speech_ms: int | None = Field(default=None, ge=0, le=2000)
    turn_detection: Literal["semantic", "fixed"] | None = None
    """semantic: the end-of-turn model and transcript decide at a pause; fixed: silence."""


class ConfigMessage(BaseModel):
    """Every field optional; only the fields given change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["config"]
    sample_rate: int | None = None
    """Checked by the engine's options (an unsupported rate is ``invalid_input``)."""
    voice: str | None = Field(default=None, min_length=1, max_length=64)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    audio_format: Literal["json", "binary"] | None = None
    vad: VadConfig | None = None


ClientMessage = Annotated[
    AudioMessage
    | TextMessage
    | PingMessage
    | PongMessage
    | CommitMessage
    | InterruptMessage
    | ConfigMessage,
    Field(discriminator="type"),
]
MESSAGE_TYPES = frozenset(
    {"audio", "text", "ping", "pong", "commit", "interrupt", "cancel", "config"}
)
_MESSAGES: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
# A message of these types that does not validate gets this code (else invalid_message).
_ERROR_CODES = {"audio": "invalid_audio", "config": "invalid_config"}


@dataclass(frozen=True, slots=True)
class ProtocolError:
    code: str
    message: str


def parse_message(text: str) -> ClientMessage | ProtocolError:
    """One client text frame: a typed message, or the error to tell the client."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        return ProtocolError("invalid_json", "messages must be JSON objects")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return ProtocolError("invalid_message", 'messages need a string "type"')
    kind: str = body["type"]
    if kind not in MESSAGE_TYPES:
        return ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}")
    try:
        return _MESSAGES.validate_python(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"][1:])  # [0] is the type tag
        detail = f"{where}: {first['msg']}" if where else first["msg"]
        return ProtocolError(_ERROR_CODES.get(kind, "invalid_message"), detail)


def command_for(message: ClientMessage) -> SessionCommand | None:
    """The engine command a message asks for (None: the protocol answers it itself)."""
    match message:
        case AudioMessage():
            return AppendAudio(message.data)
        case TextMessage():
            return SubmitText(message.text)
        case CommitMessage():
            return CommitInput()
        case InterruptMessage():
            return Interrupt()
        case _:
            return None


def configured(options: SessionOptions, config: ConfigMessage) -> SessionOptions:
    """``options`` with the fields ``config`` gives (VAD fields merged one by one).

    Raises ``InvalidInput`` for values the engine refuses (an unsupported rate)."""
    changes: dict[str, Any] = {}
    if config.sample_rate is not None:
        changes["input_rate"] = config.sample_rate
    if config.voice is not None:
        changes["voice"] = config.voice
    if config.speed is not None:
        changes["speed"] = config.speed
    if config.vad is not None:
        given = config.vad.model_dump(exclude_none=True)
        if (mode := given.pop("turn_detection", None)) is not None:
            changes["turn_mode"] = mode
        changes["vad"] = replace(options.vad, **given)
    return replace(options, **changes) if changes else options
