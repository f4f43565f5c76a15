"""``/api/sessions``: voice sessions over REST (open, read, heartbeat, close).

The realtime WebSocket routes use the same :class:`ballsy.state.sessions.SessionSlots`;
over REST a client can open a session before connecting, or resume one on another
instance. Sessions are the caller's own: anyone else's id is a 404.

A session's ``data`` is kept in the shared state for ``SESSION_SLOT_TTL``: it is capped
at ``SESSION_DATA_MAX_BYTES`` of JSON and ``SESSION_DATA_MAX_KEYS`` keys, checked on what
a heartbeat's merge would leave (413 ``payload_too_large``; nothing is changed).
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ballsy.api.deps import CurrentUser, SessionsDep, SettingsDep
from ballsy.api.openapi import ObjectId
from ballsy.config import Settings
from ballsy.errors import PayloadTooLarge
from ballsy.names import ClientId
from ballsy.state.sessions import SessionSlot

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: ClientId | None = Field(default=None, description="A label.")
    data: dict[str, Any] = Field(default_factory=dict, description="Small client state.")


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] = Field(default_factory=dict)


class SessionOut(BaseModel):
    id: str
    device: str | None
    created_at: float
    last_seen_at: float
    expires_in: int = Field(description="Seconds until the session expires unless touched.")
    data: dict[str, Any]

    @classmethod
    def of(cls, session: SessionSlot, timeout: int) -> SessionOut:
        left = int(session.last_seen_at + timeout - time.time())
        return cls(
            id=session.id,
            device=session.device,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            expires_in=max(0, left),
            data=session.data,
        )


def _check_data(data: dict[str, Any], settings: Settings) -> None:
    """413 unless ``data`` (what the session would keep) is within the caps."""
    max_keys, max_bytes = settings.session_data_max_keys, settings.session_data_max_bytes
    if len(data) > max_keys:
        raise PayloadTooLarge(
            f"session data is limited to {max_keys} keys",
            detail={"max_keys": max_keys, "keys": len(data)},
        )
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > max_bytes:
        raise PayloadTooLarge(
            f"session data is limited to {max_bytes} bytes of JSON",
            detail={"max_bytes": max_bytes, "bytes": size},
        )


@router.post("", response_model=SessionOut, status_code=status.HTTP_201_CREATED)
async def open_session(
    body: SessionIn, user: CurrentUser, sessions: SessionsDep, settings: SettingsDep
) -> SessionOut:
    """Open a voice session (503 ``busy`` at ``MAX_CONCURRENT_SESSIONS``)."""
    _check_data(body.data, settings)
    session = await sessions.open(user.user_id, device=body.device, data=body.data)
    return SessionOut.of(session, sessions.timeout)


@router.get("/{session_id}", response_model=SessionOut)
async def read_session(
    session_id: ObjectId, user: CurrentUser, sessions: SessionsDep
) -> SessionOut:
    session = await sessions.get(session_id, user.user_id)
    return SessionOut.of(session, sessions.timeout)


@router.post("/{session_id}/heartbeat", response_model=SessionOut)
async def heartbeat(
    session_id: ObjectId,
    body: HeartbeatIn,
    user: CurrentUser,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> SessionOut:
    """Keep the session (and its concurrency slot) alive; merges ``data`` (413 when the
    merged data would pass the caps)."""
    if body.data:
        current = await sessions.get(session_id, user.user_id)
        _check_data({**current.data, **body.data}, settings)
    session = await sessions.touch(session_id, user.user_id, data=body.data)
    return SessionOut.of(session, sessions.timeout)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def close_session(session_id: ObjectId, user: CurrentUser, sessions: SessionsDep) -> Response:
    await sessions.close(session_id, user.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
