"""Apps with authentication on (SQLite and PostgreSQL), and users with API keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.services import Services
from tests.conftest import BACKENDS, make_settings

JWT_SECRET = "test-secret-" + "x" * 40


@dataclass(frozen=True)
class Caller:
    """A user with an API key, ready to send requests as."""

    id: str
    name: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_user(
    app: FastAPI, *, role: str = "user", password: str | None = None, name: str | None = None
) -> Caller:
    services: Services = app.state.services
    user = await services.users.create_user(
        name or f"u-{uuid.uuid4().hex[:10]}", role=role, password=password
    )
    issued = await services.users.create_key(user.id)
    return Caller(user.id, user.name, issued.secret, issued.id)


def secure_settings(
    data_dir: Path, database_url: str | None = None, **overrides: object
) -> Settings:
    """Settings with ``AUTH_MODE=jwt`` (API keys and password login)."""
    values: dict[str, object] = {"auth_mode": "jwt", "jwt_secret": JWT_SECRET}
    values.update(overrides)
    return make_settings(data_dir, database_url, **values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app with its lifespan running, and an HTTP client speaking to it over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http


@pytest.fixture(scope="module", params=BACKENDS)
async def secure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A shared ``AUTH_MODE=jwt`` app per backend, for tests that make their own users."""
    data_dir = tmp_path_factory.mktemp("secure")
    database_url = postgres_url if request.param == "postgres" else None
    async with running(secure_settings(data_dir, database_url)) as pair:
        yield pair


@pytest.fixture
def secure_app(secure: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return secure[0]


@pytest.fixture
def http(secure: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return secure[1]
