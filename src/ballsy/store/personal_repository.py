"""The SQL of timers, reminders and lists.

:class:`PersonalRepository` is built for one user and every statement it runs is
scoped to that user, so another user's timer or list is simply not there.
:class:`DueRepository` is the scheduler's: it sees every user's due items, claims each
with a conditional UPDATE (only one process wins a row), and reads back the notices
that any instance fired.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.store.models import CommandRecord, DueItem, ListItem, User, UserList

NOTICE = "notice"  # CommandRecord.handled_by of what Ballsy said by itself


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class PersonalRepository:
    def __init__(self, session: AsyncSession, user_id: str) -> None:
        self.session = session
        self.user_id = user_id

    # --- timers and reminders ----------------------------------------------------------

    async def add_due(
        self, kind: str, label: str, due_at: datetime, duration_s: float | None = None
    ) -> DueItem:
        # In UTC: SQLite keeps the wall time and drops the zone, and reads it back as UTC.
        item = DueItem(
            user_id=self.user_id,
            kind=kind,
            label=label,
            due_at=due_at.astimezone(UTC),
            duration_s=duration_s,
        )
        self.session.add(item)
        await self.session.flush()
        return item

    async def pending(self, kind: str) -> list[DueItem]:
        """The user's pending ``kind`` items, soonest first."""
        result = await self.session.execute(
            select(DueItem)
            .where(
                DueItem.user_id == self.user_id,
                DueItem.kind == kind,
                DueItem.status == "pending",
            )
            .order_by(DueItem.due_at, DueItem.id)
        )
        return list(result.scalars().all())

    async def cancel(self, ids: Sequence[str]) -> int:
        """Cancel the user's pending items among ``ids``; how many were cancelled."""
        if not ids:
            return 0
        result = await self.session.execute(
            update(DueItem)
            .where(
                DueItem.user_id == self.user_id,
                DueItem.id.in_(list(ids)),
                DueItem.status == "pending",
            )
            .values(status="cancelled")
        )
        return result.rowcount if isinstance(result, CursorResult) else 0

    # --- lists -------------------------------------------------------------------------

    async def list_names(self) -> list[str]:
        result = await self.session.execute(
            select(UserList.name).where(UserList.user_id == self.user_id).order_by(UserList.name)
        )
        return list(result.scalars().all())

    async def _list(self, name: str, *, create: bool = False) -> UserList | None:
        query = select(UserList).where(UserList.user_id == self.user_id, UserList.name == name)
        found = (await self.session.execute(query)).scalar_one_or_none()
        if found is not None or not create:
            return found
        try:
            async with self.session.begin_nested():
                found = UserList(user_id=self.user_id, name=name)
                self.session.add(found)
                await self.session.flush()
        except IntegrityError:  # created meanwhile by another turn of the same user
            found = (await self.session.execute(query)).scalar_one()
        return found

    async def items(self, name: str) -> list[str]:
        """The list's items in the order they were added ([] for no such list)."""
        result = await self.session.execute(
            select(ListItem.text)
            .join(UserList, UserList.id == ListItem.list_id)
            .where(UserList.user_id == self.user_id, UserList.name == name)
            .order_by(ListItem.id)
        )
        return list(result.scalars().all())

    async def add_items(self, name: str, items: Sequence[str]) -> None:
        user_list = await self._list(name, create=True)
        assert user_list is not None
        self.session.add_all([ListItem(list_id=user_list.id, text=text) for text in items])
        await self.session.flush()

    async def remove_items(self, name: str, items: Sequence[str]) -> list[str]:
        """Remove items by their text (case-insensitive); the ones that were there."""
        user_list = await self._list(name)
        if user_list is None or not items:
            return []
        wanted = {item.lower() for item in items}
        result = await self.session.execute(
            select(ListItem).where(
                ListItem.list_id == user_list.id, func.lower(ListItem.text).in_(wanted)
            )
        )
        rows = list(result.scalars().all())
        for row in rows:
            await self.session.delete(row)
        await self.session.flush()
        return [row.text for row in rows]

    async def clear(self, name: str) -> int:
        user_list = await self._list(name)
        if user_list is None:
            return 0
        result = await self.session.execute(
            delete(ListItem).where(ListItem.list_id == user_list.id)
        )
        return result.rowcount if isinstance(result, CursorResult) else 0


class DueRepository:
    """Every user's due items: for the scheduler, never for a request."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due_ids(self, now: datetime, *, limit: int) -> list[str]:
        result = await self.session.execute(
            select(DueItem.id)
            .where(DueItem.status == "pending", DueItem.due_at <= now)
            .order_by(DueItem.due_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def claim(self, item_id: str, now: datetime) -> DueItem | None:
        """Mark the item fired if it still is pending: one UPDATE, so one process wins.

        The caller commits the claim together with the notice's history record; a
        process that dies before committing leaves the item pending for the next tick.
        """
        result = await self.session.execute(
            update(DueItem)
            .where(DueItem.id == item_id, DueItem.status == "pending")
            .values(status="fired", fired_at=now)
        )
        if not (isinstance(result, CursorResult) and result.rowcount == 1):
            return None
        return await self.session.get(DueItem, item_id, populate_existing=True)

    async def notices_since(
        self, since: datetime, *, users: Collection[str], after_id: int = 0, limit: int
    ) -> list[tuple[CommandRecord, str]]:
        """Notices of ``users`` (by name) fired at or after ``since`` by any instance,
        with their user's name: the first ``limit`` with an id above ``after_id``."""
        result = await self.session.execute(
            select(CommandRecord, User.client_id)
            .join(User, User.id == CommandRecord.user_id)
            .where(
                CommandRecord.handled_by == NOTICE,
                CommandRecord.created_at >= since,
                CommandRecord.id > after_id,
                User.client_id.in_(list(users)),
            )
            .order_by(CommandRecord.id)
            .limit(limit)
        )
        return [(record, name) for record, name in result.tuples().all()]
