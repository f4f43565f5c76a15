"""WebSocket authentication for the realtime routes.

Call :func:`authenticate_websocket` first thing in a WebSocket endpoint, with the
process's ``AuthService`` (the route gets it from its dependency)::

    principal = await authenticate_websocket(websocket, auth)

It returns the caller and leaves the socket accepted. A credential sent with the
handshake (``Authorization``/``X-API-Key`` header, ``?ticket=`` from
``POST /api/auth/ws-ticket``, or the ``openai-insecure-api-key.<key>`` subprotocol) was
already checked by the app-wide guard. Otherwise the first message must be
``{"type": "auth", "token": "<key or access token>"}`` or
``{"type": "auth", "ticket": "<ticket>"}`` within ``auth_wait_s`` seconds; anything else
gets an error message and a 1008 (policy violation) close.

While it waits for that message a socket costs the server a connection and a task
before anyone is known, so at most ``WS_UNAUTHENTICATED_PER_ADDRESS`` sockets of one
client address and ``WS_UNAUTHENTICATED_MAX`` in all (per process) may wait at once;
one more is told ``too_many_connections`` and closed with 1013 (try again later) at
once, without waiting for its message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket
from fastapi.exceptions import WebSocketException
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ballsy.errors import Unauthorized
from ballsy.observability.metrics import record_rate_limited
from ballsy.security.guard import PRINCIPAL_STATE
from ballsy.security.principal import Principal

if TYPE_CHECKING:
    from ballsy.config import Settings
    from ballsy.security.service import AuthService

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
FIRST_MESSAGE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class WaitingLimits:
    """How many sockets may wait for their auth message at once (module docstring)."""

    per_address: int = 8
    total: int = 256

    @classmethod
    def of(cls, settings: Settings) -> WaitingLimits:
        return cls(settings.ws_unauthenticated_per_address, settings.ws_unauthenticated_max)


class WaitingSockets:
    """The sockets of this process waiting for their auth message, by client address."""

    def __init__(self) -> None:
        self.total = 0
        self.by_address: dict[str, int] = {}

    @contextmanager
    def admit(self, address: str, limits: WaitingLimits) -> Iterator[bool]:
        """True (and counted until the block ends) if one more may wait, else False."""
        if self.total >= limits.total or self.by_address.get(address, 0) >= limits.per_address:
            yield False
            return
        self.total += 1
        self.by_address[address] = self.by_address.get(address, 0) + 1
        try:
            yield True
        finally:
            self.total -= 1
            left = self.by_address[address] - 1
            if left:
                self.by_address[address] = left
            else:
                del self.by_address[address]


WAITING = WaitingSockets()
"""Process-wide: the cap is on what this process holds, whichever app accepted it."""


async def _first_message(websocket: WebSocket, wait_s: float) -> dict[str, Any]:
    async with asyncio.timeout(wait_s):
        message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if not text or len(text) > 8192:
        raise Unauthorized("the first message must be a JSON auth message")
    try:
        body = json.loads(text)
    except ValueError:
        raise Unauthorized("the first message must be a JSON auth message") from None
    if not isinstance(body, dict) or body.get("type") != "auth":
        raise Unauthorized('authenticate first: {"type": "auth", "token": "..."}')
    return body


async def _from_message(auth: AuthService, body: dict[str, Any]) -> Principal:
    ticket, token = body.get("ticket"), body.get("token")
    if isinstance(ticket, str) and ticket:
        return await auth.redeem_ws_ticket(ticket)
    if isinstance(token, str) and token:
        return await auth.from_credential(token)
    raise Unauthorized("the auth message needs a token or a ticket")


async def authenticate_websocket(
    websocket: WebSocket,
    auth: AuthService,
    *,
    subprotocol: str | None = None,
    auth_wait_s: float = FIRST_MESSAGE_TIMEOUT,
    waiting: WaitingLimits | None = None,
) -> Principal:
    """The caller of this WebSocket; raises ``WebSocketException(1008)`` when unknown,
    ``WebSocketException(1013)`` when too many sockets wait to authenticate already."""
    principal: Principal | None = getattr(websocket.state, PRINCIPAL_STATE, None)
    if websocket.client_state == WebSocketState.CONNECTING:
        await websocket.accept(subprotocol=subprotocol)
    if principal is not None:
        return principal
    address = websocket.client.host if websocket.client is not None else ""
    with WAITING.admit(address, waiting or WaitingLimits()) as admitted:
        if not admitted:
            record_rate_limited("ws_unauthenticated")
            await websocket.send_json(
                {
                    "type": "error",
                    "code": "too_many_connections",
                    "message": "too many connections are waiting to authenticate; "
                    "authenticate in the handshake or retry later",
                }
            )
            raise WebSocketException(TRY_AGAIN_LATER, reason="too many unauthenticated")
        principal = await _authenticate_first_message(websocket, auth, auth_wait_s)
    setattr(websocket.state, PRINCIPAL_STATE, principal)
    return principal


async def _authenticate_first_message(
    websocket: WebSocket, auth: AuthService, auth_wait_s: float
) -> Principal:
    try:
        return await _from_message(auth, await _first_message(websocket, auth_wait_s))
    except (Unauthorized, TimeoutError) as exc:
        message = exc.message if isinstance(exc, Unauthorized) else "no auth message in time"
        await websocket.send_json({"type": "error", "code": "unauthorized", "message": message})
        raise WebSocketException(POLICY_VIOLATION, reason="unauthorized") from None
