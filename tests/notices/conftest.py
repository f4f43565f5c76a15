"""The notices tests' database: migrated once per module, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ballsy.config import Settings
from ballsy.store.db import Database


@pytest.fixture(scope="module")
async def database(backend_settings: Settings) -> AsyncIterator[Database]:
    db = Database(backend_settings)
    await db.migrate()
    yield db
    await db.dispose()
