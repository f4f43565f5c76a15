"""Shared fixtures: real SQLite and PostgreSQL databases, the app over ASGI.

PostgreSQL tests use a throw-away database created for the session on the local
server (``BALLSY_TEST_POSTGRES``, default ``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from ballsy.app import create_app
from ballsy.config import Settings
from tests.live import live_app

POSTGRES_SERVER = os.environ.get("BALLSY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("BALLSY_TEST_REDIS", "redis://127.0.0.1:6379/0")
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "speech"
# The suite proves the wiring on the small embedded model (fast, SmolLM2): the default
# (smart, 491 MB) would be joined into every test's data dir and answer at half the
# speed. tests/llm/test_local_models.py runs smart itself; children inherit this too.
os.environ.setdefault("LOCAL_LLM_MODEL", "fast")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"speech fixtures missing at {FIXTURES}"
    return FIXTURES


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    name = f"ballsy_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{POSTGRES_SERVER}/{name}"
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ballsy-data")


def make_settings(data_dir: Path, database_url: str | None = None, **overrides: object) -> Settings:
    """Settings for a test app: defaults, no .env file, explicit database."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "preload_models": False,
    }
    values.update(overrides)
    # Shared apps serve many tests as the same few users; tests/state and
    # tests/security exercise the real per-user limit with their own settings.
    values.setdefault("max_requests_per_minute", 100_000)
    # ASGI test clients send made-up Host names (testserver, t); tests/security checks
    # the loopback-only default of AUTH_MODE=none with its own settings.
    values.setdefault("allowed_hosts", ["*"])
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session", params=BACKENDS)
async def backend_settings(
    request: pytest.FixtureRequest, data_dir: Path, postgres_url: str
) -> Settings:
    if request.param == "sqlite":
        return make_settings(data_dir / "sqlite")
    return make_settings(data_dir / "pg", postgres_url)


@pytest.fixture(scope="session")
async def app(backend_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(backend_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
def live_server(data_dir: Path) -> Iterator[str]:
    """A real HTTP server (uvicorn on loopback, SQLite) for clients such as the openai SDK."""
    settings = make_settings(data_dir / "live", max_audio_seconds=60.0, max_upload_bytes=2_000_000)
    with live_app(settings) as (url, _app):
        yield url


@pytest.fixture
def client_id() -> str:
    """A fresh user for each test, so tests sharing an app never see each other's data."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis, its keys deleted after."""
    import redis.asyncio as aioredis

    prefix = f"ballsy-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_SERVER)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
