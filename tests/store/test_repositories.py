"""Repositories on real SQLite and PostgreSQL, each test in a rolled-back transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.config import Settings
from ballsy.scope import ALL_USERS, Owner, Scope
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import ApiKey, CommandRecord, TranscriptionJob, User, utcnow
from ballsy.store.repositories import (
    ApiKeyRepository,
    ConversationRepository,
    HistoryRepository,
    SettingsRepository,
    UserRepository,
)


@pytest.fixture(scope="module")
async def database(backend_settings: Settings) -> AsyncIterator[Database]:
    db = Database(backend_settings)
    await db.migrate()
    yield db
    await db.dispose()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as db_session:
            yield db_session
        await transaction.rollback()


def record(user: User, text: str) -> CommandRecord:
    return CommandRecord(
        user_id=user.id,
        input_text=text,
        reply_text=f"re: {text}",
        handled_by="skill",
        handler="math",
        data={"value": 1},
        timings={"total_ms": 1.5},
    )


async def test_migrations_create_the_tables_and_indexes(database: Database) -> None:
    async with database.engine.connect() as connection:

        def inspect_schema(sync_connection: object) -> tuple[set[str], set[str]]:
            inspector = inspect(sync_connection)
            tables = set(inspector.get_table_names())
            indexes = {i["name"] for t in tables for i in inspector.get_indexes(t) if i["name"]}
            return tables, indexes

        tables, indexes = await connection.run_sync(inspect_schema)
    assert {"users", "settings", "conversations", "messages", "command_history"} <= tables
    assert {"ix_command_history_user_id_desc", "ix_messages_conversation_id_desc"} <= indexes


async def test_migrate_twice_is_a_no_op(database: Database) -> None:
    await database.migrate()


async def test_get_or_create_is_idempotent(session: AsyncSession) -> None:
    users = UserRepository(session)
    first = await users.get_or_create("alice")
    second = await users.get_or_create("alice")
    assert first.id == second.id


async def test_concurrent_first_requests_create_one_user(database: Database) -> None:
    async def create() -> str:
        async with database.transaction() as db_session:
            return (await UserRepository(db_session).get_or_create("race-user")).id

    ids = await asyncio.gather(*(create() for _ in range(5)), return_exceptions=True)
    good = {i for i in ids if isinstance(i, str)}
    assert len(good) == 1
    async with database.transaction() as db_session:
        rows = (await db_session.execute(select(User).where(User.client_id == "race-user"))).all()
    assert len(rows) == 1


async def test_history_pages_newest_first_and_scoped(session: AsyncSession) -> None:
    users = UserRepository(session)
    alice, bob = await users.get_or_create("h-alice"), await users.get_or_create("h-bob")
    history = HistoryRepository(session)
    for i in range(5):
        await history.add(record(alice, f"a{i}"))
    await history.add(record(bob, "b0"))
    first = await history.page(alice.id, limit=2)
    assert [r.input_text for r in first] == ["a4", "a3"]
    second = await history.page(alice.id, limit=2, before_id=first[-1].id)
    assert [r.input_text for r in second] == ["a2", "a1"]
    assert all(r.user_id == alice.id for r in first + second)


async def test_verbatim_storage_of_hostile_text(session: AsyncSession) -> None:
    user = await UserRepository(session).get_or_create("h-eve")
    hostile = "'); DROP TABLE users; -- <script>alert(1)</script> \u202e"
    saved = await HistoryRepository(session).add(record(user, hostile))
    page = await HistoryRepository(session).page(user.id, limit=1)
    assert page[0].id == saved.id and page[0].input_text == hostile


async def test_settings_upsert(session: AsyncSession) -> None:
    user = await UserRepository(session).get_or_create("s-user")
    repo = SettingsRepository(session)
    assert await repo.get(user.id) is None
    await repo.update(user.id, {"speed": 1.5, "language": "fr"})
    row = await repo.update(user.id, {"memory_turns": 3})
    assert (row.speed, row.language, row.memory_turns) == (1.5, "fr", 3)


async def test_conversation_memory_and_idle_expiry(session: AsyncSession) -> None:
    user = await UserRepository(session).get_or_create("c-user")
    conversations = ConversationRepository(session)
    assert await conversations.active(user.id, idle_timeout=timedelta(hours=1)) is None
    conversation = await conversations.start(user.id)
    for i in range(4):
        await conversations.append(conversation, [("user", f"q{i}"), ("assistant", f"a{i}")])
    recent = await conversations.recent_messages(conversation.id, 4)
    assert [m.content for m in recent] == ["q2", "a2", "q3", "a3"]
    active = await conversations.active(user.id, idle_timeout=timedelta(hours=1))
    assert active is not None and active.id == conversation.id
    assert await conversations.active(user.id, idle_timeout=timedelta(seconds=-1)) is None


async def test_the_memory_window_moves_in_steps(session: AsyncSession) -> None:
    """A prompt's memory keeps its first messages for several turns (prompt cache)."""
    user = await UserRepository(session).get_or_create("window-user")
    conversations = ConversationRepository(session)
    conversation = await conversations.start(user.id)
    firsts = []
    for i in range(10):
        await conversations.append(conversation, [("user", f"q{i}"), ("assistant", f"a{i}")])
        window = await conversations.memory_window(conversation.id, 12)
        assert 6 <= len(window) <= 12 or i < 3
        assert window[-1].content == f"a{i}"  # always up to the newest message
        firsts.append(window[0].content)
    # 12 messages, steps of 6: the first message changes every third turn, not every turn.
    assert firsts == ["q0"] * 6 + ["q3"] * 3 + ["q6"]


async def test_jobs_are_read_and_cancelled_only_within_their_scope(session: AsyncSession) -> None:
    users = UserRepository(session)
    alice, bob = await users.get_or_create("j-alice"), await users.get_or_create("j-bob")
    jobs = JobRepository(session)
    job = await jobs.add(TranscriptionJob(user_id=alice.id, media_key="jobs/a/x.wav"))
    await jobs.add(TranscriptionJob(user_id=bob.id, media_key="jobs/b/y.wav"))
    assert await jobs.get(job.id, Owner(bob.id)) is None
    assert await jobs.get(job.id, Owner(alice.id)) is job
    assert await jobs.get(job.id, ALL_USERS) is job
    assert {j.user_id for j in await jobs.page(Owner(alice.id), limit=10)} == {alice.id}
    assert {alice.id, bob.id} <= {j.user_id for j in await jobs.page(ALL_USERS, limit=10)}
    assert not await jobs.cancel(job.id, Owner(bob.id), utcnow())
    assert await jobs.cancel(job.id, Owner(alice.id), utcnow())


async def test_keys_are_revoked_only_within_their_scope(session: AsyncSession) -> None:
    users = UserRepository(session)
    alice, bob = await users.get_or_create("k-alice"), await users.get_or_create("k-bob")
    keys = ApiKeyRepository(session)
    key = await keys.add(ApiKey(user_id=alice.id, prefix="bk_scope1234", key_hash="h" * 64))
    assert await keys.revoke(key.id, Owner(bob.id)) is None
    assert key.revoked_at is None
    revoked = await keys.revoke(key.prefix, ALL_USERS)
    assert revoked is key and key.revoked_at is not None


@pytest.mark.parametrize("scope", [None, "user-id"])
async def test_a_missing_scope_is_refused_not_read_as_everyone(
    session: AsyncSession, scope: object
) -> None:
    no_scope: Scope = scope  # type: ignore[assignment]
    with pytest.raises(TypeError, match="Scope is required"):
        await JobRepository(session).page(no_scope, limit=1)
    with pytest.raises(TypeError, match="Scope is required"):
        await ApiKeyRepository(session).revoke("x", no_scope)
