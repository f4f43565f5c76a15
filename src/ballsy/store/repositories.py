"""Repositories: every SQL statement Ballsy runs lives here.

Each repository wraps one ``AsyncSession`` and is scoped by user id in every query,
so an object that belongs to someone else is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.store.models import CommandRecord, Conversation, Message, User, UserSettings, utcnow


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_client_id(self, client_id: str) -> User | None:
        result = await self.session.execute(select(User).where(User.client_id == client_id))
        return result.scalar_one_or_none()

    async def get_or_create(self, client_id: str) -> User:
        """Return the user for ``client_id``, creating it on first sight.

        Two first requests of the same client can race; the unique constraint decides
        and the loser re-reads the winner's row.
        """
        user = await self.get_by_client_id(client_id)
        if user is not None:
            return user
        try:
            async with self.session.begin_nested():
                user = User(client_id=client_id)
                self.session.add(user)
                await self.session.flush()
        except IntegrityError:
            user = await self.get_by_client_id(client_id)
            if user is None:
                raise
        return user


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> UserSettings | None:
        return await self.session.get(UserSettings, user_id)

    async def update(self, user_id: str, values: dict[str, Any]) -> UserSettings:
        row = await self.get(user_id)
        if row is None:
            row = UserSettings(user_id=user_id, speed=1.0, language="en")
            self.session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        await self.session.flush()
        return row


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, user_id: str, *, idle_timeout: timedelta) -> Conversation | None:
        """The user's latest conversation, unless it has been idle past the timeout."""
        result = await self.session.execute(
            select(Conversation)
            .where(Conversation.user_id == user_id)
            .order_by(Conversation.updated_at.desc())
            .limit(1)
        )
        conversation = result.scalar_one_or_none()
        if conversation is None:
            return None
        updated = conversation.updated_at
        if updated.tzinfo is None:  # SQLite hands back naive UTC datetimes
            updated = updated.replace(tzinfo=utcnow().tzinfo)
        if utcnow() - updated > idle_timeout:
            return None
        return conversation

    async def start(self, user_id: str) -> Conversation:
        conversation = Conversation(user_id=user_id)
        self.session.add(conversation)
        await self.session.flush()
        return conversation

    async def recent_messages(self, conversation_id: str, limit: int) -> list[Message]:
        """The last ``limit`` messages, oldest first (the order a prompt needs)."""
        if limit <= 0:
            return []
        result = await self.session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return list(reversed(result.scalars().all()))

    async def append(
        self, conversation: Conversation, messages: Sequence[tuple[str, str]]
    ) -> list[Message]:
        now = utcnow()
        rows = [
            Message(conversation_id=conversation.id, role=role, content=content, created_at=now)
            for role, content in messages
        ]
        self.session.add_all(rows)
        conversation.updated_at = now
        await self.session.flush()
        return rows


class HistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: CommandRecord) -> CommandRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def page(
        self, user_id: str, *, limit: int, before_id: int | None = None
    ) -> list[CommandRecord]:
        """Newest first, keyset-paginated on the id so pages stay stable under writes."""
        query = select(CommandRecord).where(CommandRecord.user_id == user_id)
        if before_id is not None:
            query = query.where(CommandRecord.id < before_id)
        result = await self.session.execute(query.order_by(CommandRecord.id.desc()).limit(limit))
        return list(result.scalars().all())

    async def since(self, user_id: str, since: datetime) -> list[CommandRecord]:
        result = await self.session.execute(
            select(CommandRecord)
            .where(CommandRecord.user_id == user_id, CommandRecord.created_at >= since)
            .order_by(CommandRecord.id)
        )
        return list(result.scalars().all())
