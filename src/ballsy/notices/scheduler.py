"""The notice scheduler: fires due timers and reminders once, and speaks them.

Every instance runs one. Each tick does two things:

1. **Fire.** Due items are claimed with a conditional UPDATE (``status = 'pending'`` →
   ``'fired'``) committed in the same transaction as the notice's history record. Only
   one process's UPDATE matches the row, on PostgreSQL (row lock, re-checked after the
   winner commits) and on SQLite (one writer at a time), so an item fires exactly once
   however many instances run; one that dies before committing leaves the item
   pending for the next tick. Due items live in the database, so they survive a
   restart; one that came due while no instance ran fires late and says how late.
2. **Deliver.** The notices any instance fired in the last minute for the users
   listening in this process are read back, and each is delivered once to the
   listeners of its user here (voice sessions speak it; event streams get it). That is
   how a timer set through one instance speaks on a socket that another instance
   holds, and how a client that reconnects within the minute (after a restart, say)
   still hears what fired while it was away.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from ballsy.assistant.skills.timers import timer_name
from ballsy.assistant.skills.wording import as_said_back, speak_duration
from ballsy.notices.live import LiveListeners
from ballsy.observability.logging import get_logger
from ballsy.store.db import Database
from ballsy.store.models import CommandRecord, DueItem, utcnow
from ballsy.store.personal_repository import NOTICE, DueRepository, aware
from ballsy.store.repositories import HistoryRepository

log = get_logger("ballsy.notices")

LATE_AFTER_S = 30.0  # a notice this much past due says how late it is
DELIVERY_WINDOW = timedelta(seconds=60)  # fired notices read back for delivery
BATCH = 100  # due items fired, or fired notices read back, per query
USERS_PER_READ = 500  # listening users whose notices one query reads


def _ago(seconds: float) -> str:
    return speak_duration(seconds if seconds < 120 else round(seconds / 60) * 60)


def notice_text(item: DueItem, now: datetime) -> str:
    """What Ballsy says: "Your pasta timer is done." / "... finished 3 minutes ago."."""
    late = (now - aware(item.due_at)).total_seconds()
    if item.kind == "timer":
        if late >= LATE_AFTER_S:
            return f"Your {timer_name(item)} finished {_ago(late)} ago."
        return f"Your {timer_name(item)} is done."
    subject = as_said_back(item.label)
    said = f"It's time {subject}." if subject.startswith("to ") else f"A reminder {subject}."
    if late >= LATE_AFTER_S:
        said = f"Here is a reminder from {_ago(late)} ago: {subject.removeprefix('to ')}."
    return said


def notice_event(record: CommandRecord) -> dict[str, Any]:
    """The ``notice`` event streams get (and the native socket's message, less ``id``)."""
    return {
        "type": "notice",
        "id": record.id,
        "kind": record.handler,
        "text": record.reply_text,
        "due_at": record.data.get("due_at"),
        "late_s": record.data.get("late_s", 0.0),
        "created_at": aware(record.created_at).isoformat(),
    }


class NoticeScheduler:
    def __init__(
        self, database: Database, listeners: LiveListeners, *, poll_interval: float
    ) -> None:
        self.database = database
        self.listeners = listeners
        self.poll_interval = poll_interval
        self._started = utcnow()
        self._delivered: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._started = utcnow()
        self._task = asyncio.create_task(self._run(), name="ballsy-notices")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the database may be away for a moment: try next tick
                log.exception("ballsy.notices.tick_failed")
            await asyncio.sleep(self.poll_interval)

    async def tick(self) -> int:
        """Fire what is due, deliver what was fired; how many this process fired."""
        fired = await self.fire_due(utcnow())
        await self.deliver(utcnow())
        return fired

    async def fire_due(self, now: datetime) -> int:
        async with self.database.transaction() as session:
            ids = await DueRepository(session).due_ids(now, limit=BATCH)
        fired = 0
        for item_id in ids:
            async with self.database.transaction() as session:
                item = await DueRepository(session).claim(item_id, now)
                if item is None:
                    continue  # another instance fired it, or it was cancelled
                await HistoryRepository(session).add(self._record(item, now))
            fired += 1
            log.info("ballsy.notices.fired", item_id=item_id, kind=item.kind)
        return fired

    @staticmethod
    def _record(item: DueItem, now: datetime) -> CommandRecord:
        late = max(0.0, (now - aware(item.due_at)).total_seconds())
        return CommandRecord(
            user_id=item.user_id,
            conversation_id=None,
            source="notice",
            input_text="",
            reply_text=notice_text(item, now),
            handled_by=NOTICE,
            handler=item.kind,
            model=None,
            interrupted=False,
            data={
                "item_id": item.id,
                "label": item.label,
                "due_at": aware(item.due_at).isoformat(),
                "late_s": round(late, 1),
            },
            timings={},
            created_at=now,
        )

    async def deliver(self, now: datetime) -> int:
        """Hand the recently fired notices to this process's listeners, once each.

        Only the notices of users listening here are read, so other users' notices
        neither crowd them out of a batch nor count as delivered: a user who connects
        within the delivery window (reconnecting after a restart, when the items that
        came due meanwhile fire) still hears them, once.
        """
        cutoff = now - DELIVERY_WINDOW
        self._delivered = {i: at for i, at in self._delivered.items() if at >= cutoff}
        users = sorted(self.listeners.users())
        since = max(self._started, cutoff)
        delivered = 0
        for start in range(0, len(users), USERS_PER_READ):
            chunk, after = users[start : start + USERS_PER_READ], 0
            while True:
                async with self.database.transaction() as session:
                    notices = await DueRepository(session).notices_since(
                        since, users=chunk, after_id=after, limit=BATCH
                    )
                for record, user in notices:
                    after = record.id
                    if record.id not in self._delivered:
                        self._delivered[record.id] = aware(record.created_at)
                        delivered += self.listeners.deliver(user, notice_event(record))
                if len(notices) < BATCH:
                    break
        return delivered
