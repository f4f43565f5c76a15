"""``/v1/realtime``: the route, and the connection that parses and dispatches.

The official ``openai`` SDK (``client.realtime.connect`` for the GA API,
``client.beta.realtime.connect`` for the beta one) holds a spoken conversation here:
pcm16 at 24 kHz in ``input_audio_buffer.append``, server VAD or manual commits,
replies as ``response.*`` events with base64 audio. This module only parses frames
into the protocol's union and hands them to the conversation
(:mod:`~ballsy.realtime.wire.openai.conversation`); the connection's lifetime is
:func:`~ballsy.realtime.wire.lifetime.serve_connection`'s. docs/realtime.md ("OpenAI
Realtime compatibility") lists what is supported.

The route gets what it uses of the process (authentication, the session's ports,
voices, the socket's lifetime) from its dependency, once per connection.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.exceptions import WebSocketException

from ballsy.api.deps import RealtimeDep
from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import SessionEvent
from ballsy.realtime.session.ports import SessionPorts
from ballsy.realtime.wire.lifetime import serve_connection
from ballsy.realtime.wire.openai.conversation import RealtimeConversation
from ballsy.realtime.wire.openai.protocol import ClientEventError, new_id, parse_client_event
from ballsy.realtime.wire.openai.server_events import ServerEvents
from ballsy.realtime.wire.openai.session_config import Dialect, RealtimeSessionConfig
from ballsy.realtime.wire.outbox import POLICY_VIOLATION, Outbox
from ballsy.security.websocket import WaitingLimits, authenticate_websocket

router = APIRouter(tags=["realtime"])

BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
_CLIENT_NOTICES = frozenset({"frame_too_large", "rate_limited", "audio_overrun"})


class OpenAIRealtimeConnection:
    """One client of ``/v1/realtime``: its outbox, engine session and conversation."""

    def __init__(
        self,
        websocket: WebSocket,
        ports: SessionPorts,
        *,
        settings: Settings,
        user: str,
        dialect: Dialect,
        model: str,
        voices: Sequence[str],
        default_voice: str,
    ) -> None:
        self.outbox = Outbox(websocket, max_messages=settings.realtime_send_queue)
        self.events = ServerEvents(self.outbox, dialect)
        config = RealtimeSessionConfig.default(settings, model=model, voice=default_voice)
        options = config.engine_options(settings, voices)
        self.session = VoiceSession(ports, user=user, options=options)
        self.conversation = RealtimeConversation(
            self.session, self.events, config, settings=settings, voices=voices
        )

    # --- the lifetime's contract (ballsy.realtime.wire.lifetime) -----------------------

    def opened(self, session_id: str) -> None:
        self.conversation.opened(session_id)

    async def on_message(self, message: MutableMapping[str, Any]) -> None:
        event_id: str | None = None
        try:
            event = parse_client_event(message.get("text"))
            event_id = event.event_id
            await self.conversation.handle(event)
        except ClientEventError as refusal:
            refusal.event_id = refusal.event_id or event_id
            self.events.refuse(refusal)
        except BallsyError as exc:
            self.events.refuse(ClientEventError(exc.code, exc.message, event_id=event_id))

    def render(self, event: SessionEvent) -> None:
        self.conversation.render(event)

    def notice(self, code: str, message: str) -> None:
        kind = "invalid_request_error" if code in _CLIENT_NOTICES else "server_error"
        self.events.error(code, message, kind=kind)

    def ping(self) -> None:
        """The Realtime protocol has no ping event; WebSocket pings keep it alive."""

    @property
    def busy(self) -> bool:
        return self.session.responding

    async def close(self) -> None:
        await self.conversation.close()
        await self.session.close()  # persists the turn in flight
        for event in self.session.pending_events():  # its response.done goes out
            self.render(event)


def _dialect(websocket: WebSocket, offered: list[str]) -> Dialect:
    beta = "realtime=v1" in websocket.headers.get("openai-beta", "")
    return "beta" if beta or BETA_SUBPROTOCOL in offered else "ga"


@router.websocket("/v1/realtime")
async def realtime_socket(websocket: WebSocket, services: RealtimeDep) -> None:
    model = websocket.query_params.get("model") or "ballsy"
    if len(model) > 128 or not model.isprintable():
        raise WebSocketException(POLICY_VIOLATION, reason="invalid model")
    header = websocket.headers.get("sec-websocket-protocol", "")
    offered = [p.strip() for p in header.split(",") if p.strip()]
    # Browsers offer "realtime" and fail the handshake unless the server picks it.
    subprotocol = "realtime" if "realtime" in offered else None
    principal = await authenticate_websocket(
        websocket,
        services.auth,
        subprotocol=subprotocol,
        waiting=WaitingLimits.of(services.settings),
    )
    try:
        connection = OpenAIRealtimeConnection(
            websocket,
            services.ports,
            settings=services.settings,
            user=principal.name,
            dialect=_dialect(websocket, offered),
            model=model,
            voices=services.speech.tts_voices(),
            default_voice=services.speech.default_voice(),
        )
    except BallsyError as exc:
        error = {"type": "server_error", "code": exc.code, "message": exc.message}
        await websocket.send_json({"type": "error", "event_id": new_id("event"), "error": error})
        await websocket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    # Due timers and reminders of this user are spoken here while the socket is open.
    with services.listeners.session(principal.name, connection.session):
        await serve_connection(
            websocket,
            connection,
            services.lifetime,
            user_id=principal.user_id,
            device=f"openai-realtime:{model}",
            endpoint="openai_realtime",
            revoked=lambda: services.auth.revoked(principal),
        )
