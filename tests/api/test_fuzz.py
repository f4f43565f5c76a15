"""Property-based fuzzing of the whole REST API from its own OpenAPI document.

Schemathesis generates valid and invalid requests for every operation and sends them
to a real server (uvicorn on loopback) on SQLite and on PostgreSQL, in development
(AUTH_MODE=none) and in production (ENVIRONMENT=production, AUTH_MODE=apikey, as an
admin with a real key, so the admin routes are reached too). Every answer must be a
non-5xx answer the schema documents, shaped as it documents.

Left out, because they run real models and would make the run minutes long: ``/ready``
(loads the speech models), ``/v1/audio/speech`` (synthesis of up to 4096 characters),
and ``/api/events`` (a stream that stays open for the connection's life).
The LLM is the fake OpenAI server, so ``/api/command`` and ``/v1/chat/completions`` are
fuzzed. WebSockets are not in the OpenAPI document (tests/realtime covers them).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ballsy.app import create_app
from ballsy.config import Settings
from tests.conftest import make_settings
from tests.fake_openai import run_fake_openai
from tests.live import live_app
from tests.security.conftest import make_user, running

EXCLUDED = ("/ready", "/v1/audio/speech", "/api/events")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TARGETS = [
    ("sqlite", "development"),
    ("postgres", "development"),
    ("sqlite", "production"),
    ("postgres", "production"),
]


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    server = run_fake_openai()
    base_url, _ = next(server)
    yield base_url
    next(server, None)


def _settings(data_dir: Path, backend: str, mode: str, database: str, llm: str) -> Settings:
    values: dict[str, Any] = {
        "llm_provider": "openai",
        "llm_base_url": llm,
        "llm_model": "echo",
        "llm_api_key": "fake-key",
        "llm_max_retries": 0,
        "max_upload_bytes": 2_000_000,
        "job_max_upload_bytes": 2_000_000,
        "request_timeout": 30.0,
        # Fuzzing opens sessions it never closes: the per-user cap's 503 is no finding.
        "max_sessions_per_user": 100_000,
        "max_concurrent_sessions": 100_000,
    }
    if mode == "production":
        values |= {"environment": "production", "auth_mode": "apikey"}
    return make_settings(data_dir, database if backend == "postgres" else None, **values)


@pytest.fixture(scope="module", params=TARGETS, ids=["-".join(t) for t in TARGETS])
def fuzz_target(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    fake_llm: str,
) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, headers) of a running server of one backend and mode."""
    backend, mode = request.param
    target = _settings(tmp_path_factory.mktemp("fuzz"), backend, mode, postgres_url, fake_llm)
    headers: dict[str, str] = {}
    if mode == "production":

        async def admin_key() -> str:
            async with running(target) as (app, _):
                return (await make_user(app, role="admin")).key

        # A key made before the server starts, in the database the server will use.
        headers = {"Authorization": f"Bearer {asyncio.run(admin_key())}"}
    with live_app(target) as (url, _app):
        yield url, headers


def _document() -> dict[str, Any]:
    # The routes are the same in every mode; the servers above answer from this shape.
    with tempfile.TemporaryDirectory() as data_dir:
        return create_app(make_settings(Path(data_dir))).openapi()


schema = schemathesis.openapi.from_dict(_document()).exclude(path=list(EXCLUDED))


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_answers_match_the_schema(
    case: Any, fuzz_target: tuple[str, dict[str, str]]
) -> None:
    base_url, headers = fuzz_target
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)
