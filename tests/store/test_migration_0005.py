"""Migration 0005 (the webhook outbox) on SQLite and PostgreSQL: upgrade over existing
jobs, match the models exactly, and downgrade."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from ballsy.config import Settings
from ballsy.store.db import Database, alembic_config
from tests.conftest import make_settings
from tests.servers import create_database, drop_database
from tests.store.test_migration_0002 import _differences


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_settings(request: pytest.FixtureRequest, tmp_path: object) -> Any:
    if request.param == "sqlite":
        yield make_settings(tmp_path)  # type: ignore[arg-type]
        return
    url = await create_database()
    yield make_settings(tmp_path, url)  # type: ignore[arg-type]
    await drop_database(url)


async def test_outbox_table_upgrade_matches_the_models_and_downgrades(
    fresh_settings: Settings,
) -> None:
    database = Database(fresh_settings)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0004"))
        await database.migrate()
        async with database.engine.begin() as connection:
            assert await connection.run_sync(_differences) == []
            await connection.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, job_id, url, event, payload, status, "
                    "attempts, next_attempt_at, created_at, updated_at) VALUES ('d1', 'j1', "
                    "'https://h/x', 'transcription.done', '{}', 'pending', 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        async with database.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0004"))
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
        assert "webhook_deliveries" not in tables and "transcription_jobs" in tables
    finally:
        await database.dispose()
