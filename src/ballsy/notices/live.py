"""Who is listening in this process: open voice sessions and event streams, by user.

The wire adapters register a session when its socket opens and unregister it when
it closes; ``GET /api/events`` subscribes a queue. The scheduler delivers each notice
to every listener of its user here; other instances deliver to theirs (each reads
the fired notices from the database, :mod:`ballsy.notices.scheduler`). Users are
keyed by their name (``users.client_id``), the key the assistant uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ballsy.observability.logging import get_logger

log = get_logger("ballsy.notices")

EVENT_QUEUE = 64  # events a slow stream may fall behind before it loses the oldest


class Announcer(Protocol):
    """A voice session (:class:`ballsy.realtime.session.engine.VoiceSession`)."""

    def announce(self, text: str, *, kind: str = "notice") -> str: ...


class LiveListeners:
    def __init__(self) -> None:
        self._sessions: dict[str, set[Announcer]] = {}
        self._streams: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def users(self) -> set[str]:
        """Users with a session or a stream open here."""
        return set(self._sessions) | set(self._streams)

    def register(self, user: str, session: Announcer) -> Callable[[], None]:
        """Add an open session; returns the function that removes it again."""
        self._sessions.setdefault(user, set()).add(session)

        def unregister() -> None:
            sessions = self._sessions.get(user)
            if sessions is not None:
                sessions.discard(session)
                if not sessions:
                    del self._sessions[user]

        return unregister

    @contextlib.contextmanager
    def session(self, user: str, session: Announcer) -> Iterator[None]:
        unregister = self.register(user, session)
        try:
            yield
        finally:
            unregister()

    @contextlib.contextmanager
    def stream(self, user: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the user's events for as long as the block runs."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(EVENT_QUEUE)
        self._streams.setdefault(user, set()).add(queue)
        try:
            yield queue
        finally:
            streams = self._streams.get(user)
            if streams is not None:
                streams.discard(queue)
                if not streams:
                    del self._streams[user]

    def deliver(self, user: str, event: dict[str, Any]) -> int:
        """Speak ``event["text"]`` on every session of ``user`` and put the event on
        every stream; how many listeners got it."""
        delivered = 0
        for session in list(self._sessions.get(user, ())):
            try:
                session.announce(event["text"], kind=event["kind"])
                delivered += 1
            except Exception:  # a closing session must not cost the others their notice
                log.exception("ballsy.notices.announce_failed", user=user)
        for queue in list(self._streams.get(user, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
            delivered += 1
        return delivered
