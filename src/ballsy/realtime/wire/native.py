"""Ballsy's own voice protocol on ``/ws/voice/{client_id}`` and ``/ws/audio/{session_id}``.

JSON control messages plus binary PCM16 frames; docs/realtime.md is the reference
(every message, field and close code). The conversation itself is the engine's
(:mod:`ballsy.realtime.engine`); this module only translates.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.exceptions import WebSocketException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ballsy.errors import BallsyError, InvalidInput
from ballsy.observability.logging import get_logger
from ballsy.realtime.engine import SessionOptions, VoiceSession
from ballsy.realtime.events import (
    AudioChunk,
    Interrupted,
    ReplyDelta,
    ResponseDone,
    SessionError,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
)
from ballsy.realtime.lifetime import serve_connection
from ballsy.realtime.transport import POLICY_VIOLATION, Outbox
from ballsy.security.websocket import authenticate_websocket
from ballsy.services import Services
from ballsy.speech.vad import TurnConfig

router = APIRouter(tags=["realtime"])
log = get_logger("ballsy.realtime.native")

MAX_ERRORS = 20  # protocol errors tolerated before the socket is closed


class VadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    silence_ms: int | None = Field(default=None, ge=100, le=5000)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=2000)
    min_speech_ms: int | None = Field(default=None, ge=0, le=2000)


class ConfigMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    sample_rate: int | None = None
    voice: str | None = Field(default=None, max_length=64)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    audio_format: str | None = Field(default=None, pattern="^(json|binary)$")
    vad: VadConfig | None = None


class NativeConnection:
    """One client: its socket, outbox, engine session and timers."""

    def __init__(self, websocket: WebSocket, services: Services, client_id: str) -> None:
        self.websocket = websocket
        self.services = services
        self.settings = services.settings
        self.client_id = client_id
        self.outbox = Outbox(websocket, max_messages=self.settings.realtime_send_queue)
        self.binary_audio = websocket.query_params.get("audio_format") == "binary"
        self.session = VoiceSession(
            services, client_id=client_id, emit=self.on_event, options=self._initial_options()
        )
        self.errors = 0

    def _initial_options(self) -> SessionOptions:
        rate = self.websocket.query_params.get("sample_rate", "16000")
        if not rate.isdigit():
            raise InvalidInput("sample_rate must be a number")
        return SessionOptions(input_rate=int(rate), vad=self._vad(None))

    def _vad(self, config: VadConfig | None) -> TurnConfig:
        s = self.settings
        config = config or VadConfig()
        return TurnConfig(
            threshold=config.threshold or s.realtime_vad_threshold,
            silence_ms=config.silence_ms or s.realtime_silence_ms,
            prefix_padding_ms=(
                config.prefix_padding_ms
                if config.prefix_padding_ms is not None
                else s.realtime_prefix_padding_ms
            ),
            min_speech_ms=(
                config.min_speech_ms
                if config.min_speech_ms is not None
                else s.realtime_min_speech_ms
            ),
        )

    # --- engine → client -------------------------------------------------------------

    def on_event(self, event: SessionEvent) -> None:
        send = self.outbox.send_json
        match event:
            case AudioChunk():
                if self.binary_audio:
                    self.outbox.send_bytes(event.pcm)
                else:
                    data = base64.b64encode(event.pcm).decode()
                    send(
                        {
                            "type": "audio",
                            "turn_id": event.turn_id,
                            "seq": event.seq,
                            "sample_rate": event.sample_rate,
                            "data": data,
                        }
                    )
            case SpeechStarted():
                send({"type": "speech_started", "audio_ms": event.audio_ms})
            case SpeechStopped():
                send({"type": "speech_stopped", "audio_ms": event.audio_ms})
            case TranscriptPartial():
                send({"type": "transcript", "final": False, "text": event.text})
            case TranscriptFinal():
                send(
                    {
                        "type": "transcript",
                        "final": True,
                        "turn_id": event.turn_id,
                        "text": event.text,
                        "language": event.language,
                    }
                )
            case ReplyDelta():
                send({"type": "reply", "turn_id": event.turn_id, "delta": event.text})
            case Interrupted():
                send(
                    {
                        "type": "interrupted",
                        "turn_id": event.turn_id,
                        "played_ms": event.played_ms,
                        "played_text": event.played_text,
                    }
                )
            case ResponseDone():
                send(
                    {
                        "type": "reply_done",
                        "turn_id": event.turn_id,
                        "status": event.status,
                        "text": event.text,
                        "full_text": event.full_text,
                        "handled_by": event.handled_by,
                        "history_id": event.history_id,
                    }
                )
                send({"type": "turn", "turn_id": event.turn_id, "timings": event.timings})
            case SessionError():
                send({"type": "error", "code": event.code, "message": event.message})
            case _:
                pass

    def error(self, code: str, message: str) -> None:
        self.errors += 1
        self.notice(code, message)
        if self.errors >= MAX_ERRORS:
            self.outbox.close(POLICY_VIOLATION, "too many protocol errors")

    def notice(self, code: str, message: str) -> None:
        self.outbox.send_json({"type": "error", "code": code, "message": message})

    # --- client → engine -------------------------------------------------------------

    def on_message(self, message: MutableMapping[str, Any]) -> None:
        data = message.get("bytes")
        text = message.get("text")
        try:
            if data is not None:
                self.session.feed_audio(data)
            elif text is not None:
                self.on_json(text)
        except BallsyError as exc:
            self.error(exc.code, exc.message)

    def on_json(self, text: str) -> None:
        try:
            body = json.loads(text)
        except ValueError:
            self.error("invalid_json", "messages must be JSON objects")
            return
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            self.error("invalid_message", 'messages need a string "type"')
            return
        kind = body["type"]
        if kind == "audio":
            self.on_audio(body.get("data"))
        elif kind == "text":
            value = body.get("text")
            if not isinstance(value, str):
                self.error("invalid_message", '"text" must be a string')
                return
            self.session.submit_text(value)
        elif kind == "ping":
            self.outbox.send_json({"type": "pong", "ts": body.get("ts")})
        elif kind == "pong":
            pass
        elif kind == "commit":
            self.session.commit()
        elif kind in ("interrupt", "cancel"):
            self.session.interrupt()
        elif kind == "config":
            self.on_config(body)
        else:
            self.error("unknown_type", f"unknown message type {kind[:40]!r}")

    def on_audio(self, data: object) -> None:
        if not isinstance(data, str):
            self.error("invalid_audio", '"data" must be base64 PCM16')
            return
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.error("invalid_audio", '"data" is not valid base64')
            return
        self.session.feed_audio(pcm)

    def on_config(self, body: dict[str, Any]) -> None:
        try:
            config = ConfigMessage.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self.error("invalid_config", f"{where}: {first['msg']}")
            return
        old = self.session.options
        if config.voice is not None and config.voice not in self.services.speech.tts_voices(
            old.tts_engine
        ):
            self.error("invalid_config", f"unknown voice {config.voice!r}")
            return
        if config.audio_format is not None:
            self.binary_audio = config.audio_format == "binary"
        self.session.update(
            SessionOptions(
                input_rate=config.sample_rate or old.input_rate,
                voice=config.voice or old.voice,
                speed=config.speed or old.speed,
                tts_engine=old.tts_engine,
                vad=self._vad(config.vad) if config.vad else old.vad,
            )
        )
        self.send_ready("config_applied")

    def send_ready(self, kind: str = "ready", session_id: str | None = None) -> None:
        options = self.session.options
        self.outbox.send_json(
            {
                "type": kind,
                "session_id": session_id,
                "client_id": self.client_id,
                "input_sample_rate": options.input_rate,
                "output_sample_rate": self.session.output_rate,
                "audio_format": "binary" if self.binary_audio else "json",
            }
        )

    # --- lifetime (ballsy.realtime.lifetime) ------------------------------------------

    def opened(self, session_id: str) -> None:
        self.send_ready(session_id=session_id)

    def ping(self) -> None:
        self.outbox.send_json({"type": "ping", "ts": round(time.time(), 3)})

    @property
    def busy(self) -> bool:
        return self.session.responding

    async def close(self) -> None:
        await self.session.close()


async def serve_native(websocket: WebSocket, *, client_id: str | None, device: str) -> None:
    services: Services = websocket.app.state.services
    principal = await authenticate_websocket(websocket)
    name = client_id if principal.via == "none" and client_id else principal.name
    try:
        connection = NativeConnection(websocket, services, name)
    except BallsyError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    await serve_connection(
        websocket, connection, user_id=principal.user_id, device=device, endpoint="voice"
    )


@router.websocket("/ws/voice/{client_id}")
async def voice_socket(websocket: WebSocket, client_id: str) -> None:
    await _guarded(websocket, client_id=client_id, device=client_id)


@router.websocket("/ws/audio/{session_id}")
async def audio_socket(websocket: WebSocket, session_id: str) -> None:
    await _guarded(websocket, client_id=websocket.query_params.get("client_id"), device=session_id)


async def _guarded(websocket: WebSocket, *, client_id: str | None, device: str) -> None:
    if client_id is not None and not _valid_name(client_id):
        raise WebSocketException(POLICY_VIOLATION, reason="invalid client id")
    if len(device) > 128:
        raise WebSocketException(POLICY_VIOLATION, reason="invalid session id")
    try:
        await serve_native(websocket, client_id=client_id, device=device)
    except Exception:
        log.exception("ballsy.realtime.connection_failed", device=device)
        raise


def _valid_name(value: str) -> bool:
    return 0 < len(value) <= 128 and all(c.isalnum() or c in "._:@-" for c in value)
