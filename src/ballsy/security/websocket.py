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
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket
from fastapi.exceptions import WebSocketException
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ballsy.errors import Unauthorized
from ballsy.security.guard import PRINCIPAL_STATE
from ballsy.security.principal import Principal

if TYPE_CHECKING:
    from ballsy.security.service import AuthService

POLICY_VIOLATION = 1008
FIRST_MESSAGE_TIMEOUT = 5.0


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
) -> Principal:
    """The caller of this WebSocket; raises ``WebSocketException(1008)`` when unknown."""
    principal: Principal | None = getattr(websocket.state, PRINCIPAL_STATE, None)
    if websocket.client_state == WebSocketState.CONNECTING:
        await websocket.accept(subprotocol=subprotocol)
    if principal is not None:
        return principal
    try:
        principal = await _from_message(auth, await _first_message(websocket, auth_wait_s))
    except (Unauthorized, TimeoutError) as exc:
        message = exc.message if isinstance(exc, Unauthorized) else "no auth message in time"
        await websocket.send_json({"type": "error", "code": "unauthorized", "message": message})
        raise WebSocketException(POLICY_VIOLATION, reason="unauthorized") from None
    setattr(websocket.state, PRINCIPAL_STATE, principal)
    return principal
