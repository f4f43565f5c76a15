"""Voice sessions: who is talking, readable from every instance, counted for the cap.

A session record (``session:{id}``) lives ``SESSION_TIMEOUT`` seconds after its last
touch, so a client can reconnect to another instance, or after a restart, and carry on.
Separately, an *active* session holds one of ``MAX_CONCURRENT_SESSIONS`` slots for
``SESSION_HEARTBEAT_TTL`` seconds per heartbeat: a crashed instance's sockets free their
slots quickly instead of blocking the cap for an hour.

Every read is scoped to the owner: another user's session id is "not found".
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ballsy.config import Settings
from ballsy.errors import NotFound, ServiceBusy
from ballsy.state.base import StateBackend

ACTIVE_GROUP = "voice:active"


def _key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(slots=True)
class VoiceSession:
    id: str
    user_id: str
    device: str | None
    created_at: float
    last_seen_at: float
    data: dict[str, Any] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> VoiceSession:
        return cls(**json.loads(raw))


class VoiceSessions:
    def __init__(self, state: StateBackend, settings: Settings) -> None:
        self.state = state
        self.timeout = settings.session_timeout
        self.max_active = settings.max_concurrent_sessions
        self.heartbeat_ttl = settings.session_heartbeat_ttl

    async def open(
        self, user_id: str, *, device: str | None = None, data: dict[str, Any] | None = None
    ) -> VoiceSession:
        """Start a session, or raise ``ServiceBusy`` when every slot is taken."""
        session_id = secrets.token_urlsafe(18)
        if not await self.state.slot_acquire(
            ACTIVE_GROUP, session_id, self.max_active, self.heartbeat_ttl
        ):
            raise ServiceBusy(
                f"the server is at its limit of {self.max_active} concurrent voice sessions",
                detail={"limit": self.max_active},
            )
        now = time.time()
        session = VoiceSession(session_id, user_id, device, now, now, data or {})
        await self.state.set(_key(session_id), session.dumps(), self.timeout)
        return session

    async def get(self, session_id: str, user_id: str) -> VoiceSession:
        raw = await self.state.get(_key(session_id))
        session = VoiceSession.loads(raw) if raw else None
        if session is None or session.user_id != user_id:
            raise NotFound("no session with that id")
        return session

    async def touch(
        self, session_id: str, user_id: str, *, data: dict[str, Any] | None = None
    ) -> VoiceSession:
        """A heartbeat: extend the session and its slot (re-taking the slot if it lapsed)."""
        session = await self.get(session_id, user_id)
        session.last_seen_at = time.time()
        if data:
            session.data.update(data)
        if not await self.state.slot_touch(
            ACTIVE_GROUP, session_id, self.heartbeat_ttl
        ) and not await self.state.slot_acquire(
            ACTIVE_GROUP, session_id, self.max_active, self.heartbeat_ttl
        ):
            raise ServiceBusy(
                f"the server is at its limit of {self.max_active} concurrent voice sessions",
                detail={"limit": self.max_active},
            )
        await self.state.set(_key(session_id), session.dumps(), self.timeout)
        return session

    async def close(self, session_id: str, user_id: str) -> None:
        await self.get(session_id, user_id)
        await self.state.slot_release(ACTIVE_GROUP, session_id)
        await self.state.delete(_key(session_id))

    async def active_count(self) -> int:
        return await self.state.slot_count(ACTIVE_GROUP)
