"""Migration 0002 (auth and spend) on SQLite and PostgreSQL: upgrade with data, match the
models exactly, and downgrade."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ballsy.config import Settings
from ballsy.store.db import Database, alembic_config
from ballsy.store.models import Base
from tests.conftest import make_settings
from tests.servers import create_database, drop_database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return list(compare_metadata(context, Base.metadata))


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_settings(request: pytest.FixtureRequest, tmp_path: object) -> Any:
    if request.param == "sqlite":
        yield make_settings(tmp_path)  # type: ignore[arg-type]
        return
    url = await create_database()
    yield make_settings(tmp_path, url)  # type: ignore[arg-type]
    await drop_database(url)


async def test_upgrade_keeps_users_and_matches_the_models(fresh_settings: Settings) -> None:
    database = Database(fresh_settings)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
            await connection.execute(
                text(
                    "INSERT INTO users (id, client_id, role, created_at) "
                    "VALUES ('u1', 'old-user', 'user', CURRENT_TIMESTAMP)"
                )
            )
        await database.migrate()
        async with database.engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT is_active, token_version, password_hash FROM users")
                )
            ).one()
            assert (bool(row[0]), row[1], row[2]) == (True, 0, None)
            assert await connection.run_sync(_differences) == []
        async with database.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0001"))
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
        assert "api_keys" not in tables and "daily_usage" not in tables and "users" in tables
    finally:
        await database.dispose()
