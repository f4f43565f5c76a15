"""The database handle: one async engine per process, sessions, migrations.

SQLite (the embedded default) gets WAL mode and a busy timeout so the web process and
a worker can share the file; PostgreSQL gets a bounded asyncpg pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool

from ballsy.config import Settings
from ballsy.store.models import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every Ballsy process.
_MIGRATION_LOCK_ID = 0x0BA115
_PING_TIMEOUT = 2.0
# Seconds to wait for a pool slot or a new PostgreSQL connection before the request is
# answered 503 (the defaults, 30 s and 60 s, hold a request long after a client gave up).
POOL_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
# Errors meaning "the database cannot be reached", never "this statement is wrong": the
# API answers them 503 + Retry-After (ballsy.api.errors), the pool drops the connection.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,  # no pool slot within POOL_TIMEOUT
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # 57: admin shutdown, starting up
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.exceptions.InternalClientError,  # "cannot switch to state …" on a dead link
    ConnectionError,  # refused, reset: asyncpg's connect raises these unwrapped
)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CONNECTION_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _on_error(context: ExceptionContext) -> None:
    """Treat every connection-level failure as a disconnect, so the pool is emptied.

    SQLAlchemy's asyncpg dialect only calls a connection dead once asyncpg has marked it
    closed. After a PostgreSQL restart the pre-ping's ``;`` fails on a connection whose
    previous command the server aborted, and its ROLLBACK then raises
    ``InternalClientError: cannot switch to state 12; another operation (2) is in
    progress`` on the same connection: not a disconnect to SQLAlchemy, so the stale
    connection went back to the pool and each of its siblings failed one request in
    turn (a 500 each, seconds of errors after the database was back). Marking it a
    disconnect invalidates the whole pool at once; the next checkout connects afresh.
    """
    if not context.is_disconnect and is_unavailable(context.original_exception):
        context.is_disconnect = True


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        if ":memory:" not in url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            poolclass=NullPool if ":memory:" not in url else None,
            # A failing statement's error names its SQL, never its values (transcripts,
            # password hashes): they would end up in logs.
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=POOL_TIMEOUT,
        connect_args={"timeout": CONNECT_TIMEOUT},
        hide_parameters=True,
    )
    event.listen(engine.sync_engine, "handle_error", _on_error)
    return engine


def _utc_on_load(target: Any, _context: Any) -> None:
    # SQLite keeps no time zone: what it stored as UTC comes back naive. Every
    # timestamp Ballsy writes is UTC, so say so (the API documents RFC 3339 times).
    for key, value in list(target.__dict__.items()):
        if isinstance(value, datetime) and value.tzinfo is None:
            set_committed_value(target, key, value.replace(tzinfo=UTC))


event.listen(Base, "load", _utc_on_load, propagate=True)
event.listen(
    Base, "refresh", lambda target, context, _attrs: _utc_on_load(target, context), propagate=True
)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several instances starting together: one migrates, the others wait and find
        # nothing left to do. The lock ends with the transaction.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), "head")


class Database:
    """Owns the engine and the session factory; built once in the app lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together when the block ends without error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async def _select_one() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        await asyncio.wait_for(_select_one(), _PING_TIMEOUT)

    async def dispose(self) -> None:
        await self.engine.dispose()
