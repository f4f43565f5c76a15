"""Which listeners get a fired notice, on real SQLite and PostgreSQL.

A notice is spoken to its user's listeners in a process as soon as the user has one
there: when it fires, or when the user connects within the delivery window (a client
reconnecting after a restart hears what fired meanwhile). Other users' notices, however
many, neither use up that chance nor crowd it out.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from ballsy.notices.live import LiveListeners
from ballsy.notices.scheduler import BATCH, NoticeScheduler
from ballsy.store.db import Database
from ballsy.store.models import utcnow
from ballsy.store.personal_repository import PersonalRepository
from ballsy.store.repositories import UserRepository


class Heard:
    def __init__(self) -> None:
        self.said: list[str] = []

    def announce(self, text: str, *, kind: str = "notice") -> str:
        self.said.append(text)
        return "turn"


async def due(database: Database, user: str, *labels: str, seconds_ago: float = 1) -> None:
    at = utcnow() - timedelta(seconds=seconds_ago)
    async with database.transaction() as session:
        found = await UserRepository(session).get_or_create(user)
        mine = PersonalRepository(session, found.id)
        for label in labels:
            await mine.add_due("timer", label, at, 60)


async def fire_all(scheduler: NoticeScheduler) -> None:
    while await scheduler.fire_due(utcnow()):
        pass


async def test_a_user_who_connects_after_the_notice_fired_still_hears_it(
    database: Database,
) -> None:
    early, late = f"early-{uuid.uuid4().hex[:8]}", f"late-{uuid.uuid4().hex[:8]}"
    listeners = LiveListeners()
    scheduler = NoticeScheduler(database, listeners, poll_interval=1)
    heard_early, heard_late = Heard(), Heard()
    listeners.register(early, heard_early)
    await due(database, early, "tea")
    await due(database, late, "pasta")
    await fire_all(scheduler)
    await scheduler.deliver(utcnow())
    assert heard_early.said == ["Your tea timer is done."]
    listeners.register(late, heard_late)  # reconnected a moment after it fired
    await scheduler.deliver(utcnow())
    await scheduler.deliver(utcnow())
    assert heard_late.said == ["Your pasta timer is done."]
    assert heard_early.said == ["Your tea timer is done."]


async def test_other_users_notices_do_not_crowd_out_a_listeners(database: Database) -> None:
    crowd, me = f"crowd-{uuid.uuid4().hex[:8]}", f"me-{uuid.uuid4().hex[:8]}"
    listeners = LiveListeners()
    scheduler = NoticeScheduler(database, listeners, poll_interval=1)
    await due(database, crowd, *(f"t{i}" for i in range(BATCH + 20)), seconds_ago=2)
    await fire_all(scheduler)
    await due(database, me, "egg")
    await fire_all(scheduler)
    heard = Heard()
    listeners.register(me, heard)
    await scheduler.deliver(utcnow())
    assert heard.said == ["Your egg timer is done."]
    many = Heard()
    listeners.register(crowd, many)
    await scheduler.deliver(utcnow())
    assert len(many.said) == BATCH + 20
    assert heard.said == ["Your egg timer is done."]
