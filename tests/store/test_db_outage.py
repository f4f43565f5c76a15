"""A database that goes away: 503 + Retry-After, never 500; values never in errors.

The PostgreSQL tests act only on this session's own throw-away database (its
connections terminated, its engine pointed at a closed port), never on the shared
server; tests/store/test_postgres_restart.py restarts the server itself.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ballsy.services import Services
from ballsy.store.db import Database, create_engine, is_unavailable
from tests.conftest import POSTGRES_SERVER, make_settings
from tests.fake_openai import free_port
from tests.security.conftest import running

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def pg_app(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = make_settings(tmp_path_factory.mktemp("outage"), postgres_url)
    async with running(settings) as pair:
        yield pair


async def _terminate_connections(database_url: str) -> int:
    """Kill every server connection to this test's database (as a restart does)."""
    name = database_url.rsplit("/", 1)[-1]
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return len(rows)


async def test_connections_killed_under_the_pool_cost_no_request(
    pg_app: tuple[FastAPI, httpx.AsyncClient], postgres_url: str
) -> None:
    _, http = pg_app
    user = {"X-Client-Id": f"t-{uuid.uuid4().hex[:8]}"}
    # Several pooled connections, all idle, then all killed by the server.
    warm = await asyncio.gather(*(http.get("/api/history", headers=user) for _ in range(6)))
    assert {r.status_code for r in warm} == {200}
    assert await _terminate_connections(postgres_url) >= 1
    after = await asyncio.gather(*(http.get("/api/history", headers=user) for _ in range(12)))
    codes = [r.status_code for r in after]
    # The pre-ping finds the dead connections and the pool is emptied at once: no
    # request fails (a 503 is allowed for a request that raced the kill, never a 500).
    assert 500 not in codes, [r.text for r in after if r.status_code == 500]
    assert codes.count(200) >= 11, codes
    assert (await http.get("/api/history", headers=user)).status_code == 200


async def test_an_unreachable_database_is_503_with_retry_after(
    pg_app: tuple[FastAPI, httpx.AsyncClient], tmp_path: Path
) -> None:
    app, http = pg_app
    database: Database = app.state.services.database
    engine, sessions = database.engine, database.sessionmaker
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    database.engine = create_engine(make_settings(tmp_path, closed))
    database.sessionmaker = async_sessionmaker(database.engine, expire_on_commit=False)
    try:
        for url in ("/api/history", "/api/settings", "/api/transcriptions"):
            response = await http.get(url, headers={"X-Client-Id": "outage"})
            assert response.status_code == 503, (url, response.text)
            assert response.headers["Retry-After"] == "1"
            assert response.json()["error"]["code"] == "database_unavailable"
        chat = await http.get("/v1/models")
        assert chat.status_code in (200, 503)  # /v1 errors keep OpenAI's shape
        if chat.status_code == 503:
            assert chat.json()["error"]["type"] == "server_error"
    finally:
        await database.engine.dispose()
        database.engine, database.sessionmaker = engine, sessions
    assert (await http.get("/api/history", headers={"X-Client-Id": "outage"})).status_code == 200


def test_connection_errors_are_told_from_statement_errors() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert is_unavailable(refused)
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = asyncpg.exceptions.AdminShutdownError("terminating connection")
    assert is_unavailable(wrapped)
    state = asyncpg.exceptions.InternalClientError("cannot switch to state 12")
    assert is_unavailable(state)
    assert not is_unavailable(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_unavailable(ValueError("bad"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_statement_errors_never_show_their_values(
    backend: str, tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings(tmp_path, postgres_url if backend == "postgres" else None)
    database = Database(settings)
    secret = "my-private-transcript-" + uuid.uuid4().hex
    try:
        await database.migrate()
        with pytest.raises(StatementError) as caught:
            async with database.transaction() as session:
                # A NOT NULL column left null, with a value bound beside it.
                await session.execute(
                    text("INSERT INTO users (id, client_id) VALUES (:id, :name)"),
                    {"id": None, "name": secret},
                )
        assert secret not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)
    finally:
        await database.dispose()


async def test_services_share_the_database_handle(
    pg_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    # The unreachable-database test swaps the engine on this one object.
    services: Services = pg_app[0].state.services
    assert services.jobs.database is services.database
