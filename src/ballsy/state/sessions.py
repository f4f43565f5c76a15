"""Session slots: who is talking, readable from every instance, counted for the cap.

Not the voice engine (:class:`ballsy.realtime.session.engine.VoiceSession`): this is the
bookkeeping each connection (or REST client) holds while it talks. A slot record
(``session:{id}``) lives ``SESSION_SLOT_TTL`` seconds after its last
touch, so a client can reconnect to another instance, or after a restart, and carry on.
Separately, an *active* session holds one of ``MAX_CONCURRENT_SESSIONS`` slots, and one
of its user's ``MAX_SESSIONS_PER_USER``, for ``SESSION_HEARTBEAT_TTL`` seconds per
heartbeat: a crashed instance's sockets free their slots quickly instead of blocking the
caps for an hour. The per-user cap keeps one user (or one leaked API key) from taking
every slot of the server. Both are slot groups on the state backend, so on Redis they
hold across instances.

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


def _user_group(user_id: str) -> str:
    return f"voice:user:{user_id}"


def _key(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(slots=True)
class SessionSlot:
    """One open voice session's record: whose it is, from which device, its small state."""

    id: str
    user_id: str
    device: str | None
    created_at: float
    last_seen_at: float
    data: dict[str, Any] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> SessionSlot:
        return cls(**json.loads(raw))


class SessionSlots:
    """Open, read, heartbeat and close session slots, under the server and per-user caps."""

    def __init__(self, state: StateBackend, settings: Settings) -> None:
        self.state = state
        self.timeout = settings.session_slot_ttl
        self.max_active = settings.max_concurrent_sessions
        self.max_per_user = settings.max_sessions_per_user
        self.heartbeat_ttl: float = settings.session_heartbeat_ttl

    async def open(
        self, user_id: str, *, device: str | None = None, data: dict[str, Any] | None = None
    ) -> SessionSlot:
        """Start a session, or raise ``ServiceBusy`` when the server's or the user's slots
        are all taken."""
        session_id = secrets.token_urlsafe(18)
        await self._hold_slots(session_id, user_id)
        now = time.time()
        session = SessionSlot(session_id, user_id, device, now, now, data or {})
        await self.state.set(_key(session_id), session.dumps(), self.timeout)
        return session

    async def get(self, session_id: str, user_id: str) -> SessionSlot:
        raw = await self.state.get(_key(session_id))
        session = SessionSlot.loads(raw) if raw else None
        if session is None or session.user_id != user_id:
            raise NotFound("no session with that id")
        return session

    async def touch(
        self, session_id: str, user_id: str, *, data: dict[str, Any] | None = None
    ) -> SessionSlot:
        """A heartbeat: extend the session and its slot (re-taking the slot if it lapsed)."""
        session = await self.get(session_id, user_id)
        session.last_seen_at = time.time()
        if data:
            session.data.update(data)
        ttl = self.heartbeat_ttl
        renewed = await self.state.slot_touch(ACTIVE_GROUP, session_id, ttl)
        renewed = await self.state.slot_touch(_user_group(user_id), session_id, ttl) and renewed
        if not renewed:  # a slot lapsed (a long stall, a Redis failover): take it again
            await self._hold_slots(session_id, user_id)
        await self.state.set(_key(session_id), session.dumps(), self.timeout)
        return session

    async def close(self, session_id: str, user_id: str) -> None:
        await self.get(session_id, user_id)
        await self._release_slots(session_id, user_id)
        await self.state.delete(_key(session_id))

    async def _hold_slots(self, session_id: str, user_id: str) -> None:
        """Take (or renew) both slots; on refusal hold neither and raise ``ServiceBusy``."""
        ttl = self.heartbeat_ttl
        if not await self.state.slot_acquire(ACTIVE_GROUP, session_id, self.max_active, ttl):
            raise ServiceBusy(
                f"the server is at its limit of {self.max_active} concurrent voice sessions",
                detail={"limit": self.max_active},
            )
        if not await self.state.slot_acquire(
            _user_group(user_id), session_id, self.max_per_user, ttl
        ):
            await self.state.slot_release(ACTIVE_GROUP, session_id)
            raise ServiceBusy(
                f"you already have {self.max_per_user} voice sessions open; "
                "close one to open another",
                detail={"limit": self.max_per_user, "scope": "user"},
            )

    async def _release_slots(self, session_id: str, user_id: str) -> None:
        await self.state.slot_release(ACTIVE_GROUP, session_id)
        await self.state.slot_release(_user_group(user_id), session_id)

    async def active_count(self) -> int:
        """Sessions holding a slot, on every instance."""
        return await self.state.slot_count(ACTIVE_GROUP)

    async def user_active_count(self, user_id: str) -> int:
        """This user's sessions holding a slot, on every instance."""
        return await self.state.slot_count(_user_group(user_id))
