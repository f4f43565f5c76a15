"""Repositories: every SQL statement Ballsy runs lives here.

Each repository wraps one ``AsyncSession`` and is scoped by user id in every query,
so an object that belongs to someone else is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.scope import Scope
from ballsy.store.models import (
    ApiKey,
    CommandRecord,
    Conversation,
    DailyUsage,
    Message,
    User,
    UserSettings,
    utcnow,
)
from ballsy.store.scoping import visible_to


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

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def create(
        self, client_id: str, *, role: str = "user", password_hash: str | None = None
    ) -> User | None:
        """A new user, or None when the name is taken."""
        try:
            async with self.session.begin_nested():
                user = User(client_id=client_id, role=role, password_hash=password_hash)
                self.session.add(user)
                await self.session.flush()
        except IntegrityError:
            return None
        return user

    async def page(self, *, limit: int, offset: int = 0) -> list[User]:
        result = await self.session.execute(
            select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)
        )
        return list(result.scalars().all())


class ApiKeyRepository:
    """API keys, looked up by hash; every per-user query is scoped to its owner."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def find_active(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """The live key with this hash and its active owner, if both exist."""
        now = utcnow()
        result = await self.session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == key_hash,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                User.is_active.is_(True),
            )
        )
        row = result.one_or_none()
        return (row[0], row[1]) if row else None

    async def list_for(self, user_id: str) -> list[ApiKey]:
        result = await self.session.execute(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
        )
        return list(result.scalars().all())

    async def active_counts(self) -> dict[str, int]:
        result = await self.session.execute(
            select(ApiKey.user_id, func.count())
            .where(ApiKey.revoked_at.is_(None))
            .group_by(ApiKey.user_id)
        )
        return {user_id: count for user_id, count in result.tuples().all()}

    async def revoke(self, key_id: str, scope: Scope) -> ApiKey | None:
        """Revoke one key by id or display prefix, if ``scope`` sees it (admins: any)."""
        query = select(ApiKey).where(
            or_(ApiKey.id == key_id, ApiKey.prefix == key_id), visible_to(ApiKey.user_id, scope)
        )
        keys = list((await self.session.execute(query)).scalars().all())
        if len(keys) != 1:  # unknown, or a prefix that is not unique: name it by id
            return None
        key = keys[0]
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.session.flush()
        return key

    async def get(self, key_id: str) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def is_live(self, key_id: str) -> bool:
        """The key exists, is not revoked and has not expired."""
        now = utcnow()
        result = await self.session.execute(
            select(ApiKey.id).where(
                ApiKey.id == key_id,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
        return result.scalar_one_or_none() is not None

    async def live_count(self, user_id: str) -> int:
        """How many of the user's keys still work (not revoked, not expired)."""
        now = utcnow()
        result = await self.session.execute(
            select(func.count()).where(
                ApiKey.user_id == user_id,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
        return int(result.scalar_one())

    async def revoke_all_for(self, user_id: str, when: datetime) -> int:
        """Revoke every live key of the user (password change, disable); how many."""
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def touch(self, key_id: str, when: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when)
        )


class UsageRepository:
    """Per-user daily token counters for spend caps (an upsert on both dialects)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tokens_on(self, user_id: str, day: date) -> int:
        result = await self.session.execute(
            select(DailyUsage.tokens).where(DailyUsage.user_id == user_id, DailyUsage.day == day)
        )
        return int(result.scalar_one_or_none() or 0)

    async def add(self, user_id: str, day: date, tokens: int) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(DailyUsage).values(user_id=user_id, day=day, tokens=tokens, requests=1)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[DailyUsage.user_id, DailyUsage.day],
                set_={
                    "tokens": DailyUsage.tokens + tokens,
                    "requests": DailyUsage.requests + 1,
                },
            )
        )

    async def on(self, day: date) -> list[DailyUsage]:
        result = await self.session.execute(
            select(DailyUsage).where(DailyUsage.day == day).order_by(DailyUsage.tokens.desc())
        )
        return list(result.scalars().all())


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

    async def memory_window(self, conversation_id: str, limit: int) -> list[Message]:
        """At most ``limit`` recent messages, oldest first, from a start that moves in
        steps of half the window: the prompt's prefix then stays the same for several
        turns, so a local model's prompt cache keeps it instead of re-evaluating the
        whole memory every turn as a window sliding by one turn would. The window holds
        between half and all of ``limit``."""
        if limit <= 0:
            return []
        total = await self.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == conversation_id)
        )
        step = max(2, limit // 2 // 2 * 2)  # whole turns (a user and an assistant message)
        start = -(-max(0, int(total or 0) - limit) // step) * step  # rounded up to a step
        result = await self.session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id)
            .offset(start)
            .limit(limit)
        )
        return list(result.scalars().all())

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

    async def revise_last(self, conversation_id: str, role: str, old: str, new: str) -> bool:
        """Replace the newest ``role`` message saying ``old`` (a reply cut short after it
        was stored); an empty ``new`` deletes it. False when there is no such message."""
        result = await self.session.execute(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.role == role,
                Message.content == old,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        message = result.scalar_one_or_none()
        if message is None:
            return False
        if new:
            message.content = new
        else:
            await self.session.delete(message)
        await self.session.flush()
        return True


class HistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: CommandRecord) -> CommandRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def get(self, user_id: str, record_id: int) -> CommandRecord | None:
        result = await self.session.execute(
            select(CommandRecord).where(
                CommandRecord.id == record_id, CommandRecord.user_id == user_id
            )
        )
        return result.scalar_one_or_none()

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
