"""Ballsy's own voice protocol on ``/ws/voice/{client_id}`` and ``/ws/audio/{session_id}``.

JSON control messages plus binary PCM16 frames; docs/realtime.md is the reference
(every message, field and close code). The conversation is the engine's
(:mod:`ballsy.realtime.session`); :mod:`~ballsy.realtime.wire.native_protocol`
parses client messages into typed engine commands, :class:`NativeConnection` owns the
protocol's little state (audio format, error count) and renders engine events, and
:func:`~ballsy.realtime.wire.lifetime.serve_connection` runs the socket.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Collection, Mapping, MutableMapping
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.exceptions import WebSocketException

from ballsy.api.deps import RealtimeDep, RealtimeServices
from ballsy.config import Settings
from ballsy.errors import BallsyError, InvalidInput
from ballsy.names import CLIENT_ID_MAX_LENGTH, valid_client_id
from ballsy.observability.logging import get_logger
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import (
    Announcement,
    Interrupted,
    ReplyAudio,
    ReplyDelta,
    SessionError,
    SessionEvent,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptPartial,
    TurnEnded,
)
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.turns import TurnWaits
from ballsy.realtime.wire.lifetime import serve_connection
from ballsy.realtime.wire.native_protocol import (
    ConfigMessage,
    PingMessage,
    PongMessage,
    ProtocolError,
    command_for,
    configured,
    parse_message,
)
from ballsy.realtime.wire.outbox import POLICY_VIOLATION, Outbox
from ballsy.security.websocket import WaitingLimits, authenticate_websocket
from ballsy.speech.vad import TurnConfig

router = APIRouter(tags=["realtime"])
log = get_logger("ballsy.realtime.native")

MAX_ERRORS = 20  # protocol errors tolerated before the socket is closed

VoiceNames = Callable[[str | None], Collection[str]]
"""The voices a TTS engine (None: the configured one) can speak."""


def default_vad(settings: Settings) -> TurnConfig:
    return TurnConfig(
        threshold=settings.realtime_vad_threshold,
        silence_ms=settings.realtime_silence_ms,
        prefix_padding_ms=settings.realtime_prefix_padding_ms,
        min_speech_ms=settings.realtime_min_speech_ms,
    )


def initial_options(query: Mapping[str, str], settings: Settings) -> SessionOptions:
    """Options from the connect URL's query (``sample_rate``); ``InvalidInput`` if bad."""
    rate = query.get("sample_rate", "16000")
    if not rate.isdigit():
        raise InvalidInput("sample_rate must be a number")
    return SessionOptions(
        input_rate=int(rate),
        vad=default_vad(settings),
        turn_mode=settings.realtime_turn_detection,
        candidate_ms=settings.realtime_candidate_pause_ms,
        waits=TurnWaits(
            unsure_ms=settings.realtime_unsure_pause_ms, max_ms=settings.realtime_max_pause_ms
        ),
        speculative_reply=settings.realtime_speculative_replies,
        partial_transcripts=settings.realtime_partial_transcripts,
    )


class NativeConnection:
    """One client: its outbox, its engine session and the protocol's state."""

    def __init__(
        self,
        websocket: WebSocket,
        session: VoiceSession,
        *,
        client_id: str,
        voices: VoiceNames,
        send_queue: int,
    ) -> None:
        self.client_id = client_id
        self.session = session
        self.voices = voices
        self.outbox = Outbox(websocket, max_messages=send_queue)
        self.binary_audio = websocket.query_params.get("audio_format") == "binary"
        self.errors = 0

    # --- engine → client -------------------------------------------------------------

    def render(self, event: SessionEvent) -> None:
        send = self.outbox.send_json
        match event:
            case ReplyAudio():
                self._send_audio(event)
            case SpeechStarted():
                send({"type": "speech_started", "audio_ms": event.audio_ms})
            case SpeechStopped():
                send(
                    {"type": "speech_stopped", "audio_ms": event.audio_ms, "turn_id": event.turn_id}
                )
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
            case TurnEnded():
                self._send_turn_end(event)
            case Announcement():  # a due timer or reminder; its reply events follow
                send(
                    {
                        "type": "notice",
                        "turn_id": event.turn_id,
                        "kind": event.kind,
                        "text": event.text,
                    }
                )
            case SessionError():
                self.notice(event.code, event.message)
            case _:
                pass  # ResponseStarted, InputCommitted: nothing to tell in this protocol

    def _send_audio(self, event: ReplyAudio) -> None:
        if self.binary_audio:
            self.outbox.send_bytes(event.pcm)
            return
        self.outbox.send_json(
            {
                "type": "audio",
                "turn_id": event.turn_id,
                "seq": event.seq,
                "sample_rate": event.sample_rate,
                "data": base64.b64encode(event.pcm).decode(),
            }
        )

    def _send_turn_end(self, event: TurnEnded) -> None:
        error = event.error
        if not event.responded:
            if error is not None:  # refused or failed before a reply began
                self.outbox.send_json(
                    {
                        "type": "error",
                        "code": error.code,
                        "message": error.message,
                        "turn_id": event.turn_id,
                    }
                )
            return
        done: dict[str, Any] = {
            "type": "reply_done",
            "turn_id": event.turn_id,
            "status": event.status,
            "text": event.text,
            "full_text": event.full_text,
            "handled_by": event.handled_by,
            "history_id": event.history_id,
        }
        if error is not None:
            done["error"] = {"code": error.code, "message": error.message}
        self.outbox.send_json(done)
        self.outbox.send_json(
            {"type": "turn", "turn_id": event.turn_id, "timings": event.timings.as_dict()}
        )

    def error(self, code: str, message: str) -> None:
        self.errors += 1
        self.notice(code, message)
        if self.errors >= MAX_ERRORS:
            self.outbox.close(POLICY_VIOLATION, "too many protocol errors")

    def notice(self, code: str, message: str) -> None:
        self.outbox.send_json({"type": "error", "code": code, "message": message})

    # --- client → engine -------------------------------------------------------------

    async def on_message(self, message: MutableMapping[str, Any]) -> None:
        data, text = message.get("bytes"), message.get("text")
        try:
            if data is not None:
                self.session.feed_audio(data)
            elif text is not None:
                await self._on_text(text)
        except BallsyError as exc:
            self.error(exc.code, exc.message)

    async def _on_text(self, text: str) -> None:
        message = parse_message(text)
        match message:
            case ProtocolError():
                self.error(message.code, message.message)
            case PingMessage():
                self.outbox.send_json({"type": "pong", "ts": message.ts})
            case PongMessage():
                pass
            case ConfigMessage():
                self._configure(message)
            case _:
                command = command_for(message)
                if command is not None:
                    await self.session.handle(command)

    def _configure(self, config: ConfigMessage) -> None:
        options = self.session.options
        if config.voice is not None and config.voice not in self.voices(options.tts_engine):
            self.error("invalid_config", f"unknown voice {config.voice!r}")
            return
        self.session.update(configured(options, config))  # InvalidInput: bad sample rate
        if config.audio_format is not None:
            self.binary_audio = config.audio_format == "binary"
        self.send_ready("config_applied")

    def send_ready(self, kind: str = "ready", session_id: str | None = None) -> None:
        self.outbox.send_json(
            {
                "type": kind,
                "session_id": session_id,
                "client_id": self.client_id,
                "input_sample_rate": self.session.options.input_rate,
                "output_sample_rate": self.session.output_rate,
                "audio_format": "binary" if self.binary_audio else "json",
            }
        )

    # --- lifetime (ballsy.realtime.wire.lifetime) ------------------------------------

    def opened(self, session_id: str) -> None:
        self.send_ready(session_id=session_id)

    def ping(self) -> None:
        self.outbox.send_json({"type": "ping", "ts": round(time.time(), 3)})

    @property
    def busy(self) -> bool:
        return self.session.responding

    async def close(self) -> None:
        await self.session.close()
        for event in self.session.pending_events():
            self.render(event)


async def serve_native(
    websocket: WebSocket, services: RealtimeServices, *, client_id: str | None, device: str
) -> None:
    """The route's work, on what the route's dependency hands over of the process."""
    principal = await authenticate_websocket(
        websocket, services.auth, waiting=WaitingLimits.of(services.settings)
    )
    name = client_id if principal.via == "none" and client_id else principal.name
    settings = services.settings
    try:
        options = initial_options(websocket.query_params, settings)
    except BallsyError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    connection = NativeConnection(
        websocket,
        VoiceSession(services.ports, user=name, options=options),
        client_id=name,
        voices=services.speech.tts_voices,
        send_queue=settings.realtime_send_queue,
    )
    # Due timers and reminders of this user are spoken here while the socket is open.
    with services.listeners.session(name, connection.session):
        await serve_connection(
            websocket,
            connection,
            services.lifetime,
            user_id=principal.user_id,
            device=device,
            endpoint="voice",
            revoked=lambda: services.auth.revoked(principal),
        )


@router.websocket("/ws/voice/{client_id}")
async def voice_socket(websocket: WebSocket, client_id: str, services: RealtimeDep) -> None:
    await _guarded(websocket, services, client_id=client_id, device=client_id)


@router.websocket("/ws/audio/{session_id}")
async def audio_socket(websocket: WebSocket, session_id: str, services: RealtimeDep) -> None:
    client_id = websocket.query_params.get("client_id")
    await _guarded(websocket, services, client_id=client_id, device=session_id)


async def _guarded(
    websocket: WebSocket, services: RealtimeServices, *, client_id: str | None, device: str
) -> None:
    if client_id is not None and not valid_client_id(client_id):
        raise WebSocketException(POLICY_VIOLATION, reason="invalid client id")
    if len(device) > CLIENT_ID_MAX_LENGTH:
        raise WebSocketException(POLICY_VIOLATION, reason="invalid session id")
    try:
        await serve_native(websocket, services, client_id=client_id, device=device)
    except Exception:
        log.exception("ballsy.realtime.connection_failed", device=device)
        raise
