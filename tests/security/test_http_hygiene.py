"""Rate-limit headers, security headers, body caps, request timeouts, spend caps, cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.responses import StreamingResponse
from starlette.types import Message

from ballsy.security.http import BodyLimitMiddleware
from tests.fake_openai import FakeOpenAI, run_fake_openai
from tests.security.conftest import make_user, running, secure_settings


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


async def test_rate_limit_headers_then_429(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path, max_requests_per_minute=3)) as (app, http):
        user, other = await make_user(app), await make_user(app)
        remaining = []
        for _ in range(3):
            response = await http.get("/api/history", headers=user.headers)
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "3"
            assert 0 < int(response.headers["x-ratelimit-reset"]) <= 60
            remaining.append(response.headers["x-ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]
        refused = await http.get("/api/history", headers=user.headers)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert (await http.get("/api/history", headers=other.headers)).status_code == 200
        assert (await http.get("/health")).status_code == 200, "probes are never limited"


async def test_security_headers(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path)) as (app, http):
        user = await make_user(app)
        api = await http.get("/api/history", headers=user.headers)
        assert api.headers["x-content-type-options"] == "nosniff"
        assert api.headers["x-frame-options"] == "DENY"
        assert api.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in api.headers["content-security-policy"]
        assert api.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in api.headers, "HSTS only in production"
        unauthorized = await http.get("/api/history")
        assert unauthorized.headers["x-content-type-options"] == "nosniff"
        docs = await http.get("/docs")
        assert "content-security-policy" not in docs.headers, "Swagger UI loads its own assets"
    production = secure_settings(tmp_path / "prod", environment="production")
    async with running(production) as (_app, http):
        health = await http.get("/health")
        assert health.headers["strict-transport-security"].startswith("max-age=")


async def test_body_caps(tmp_path: Path) -> None:
    settings = secure_settings(tmp_path, max_request_bytes=2048, max_upload_bytes=4096)
    async with running(settings) as (app, http):
        user = await make_user(app)
        big = {"text": "what is 1 plus 1", "pad": "x" * 5000}
        declared = await http.post("/api/command", json=big, headers=user.headers)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"text": "what is 1 plus 1", "pad": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        streamed = await http.post(
            "/api/command",
            content=chunks(),
            headers={**user.headers, "content-type": "application/json"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.json()["error"]["code"] == "payload_too_large"
        small = await http.post(
            "/api/command", json={"text": "what is 1 plus 1"}, headers=user.headers
        )
        assert small.status_code == 200


async def test_upload_over_the_cap_is_refused_before_reading() -> None:
    reached_app = False

    async def app(scope: object, receive: object, send: object) -> None:
        nonlocal reached_app
        reached_app = True

    async def receive() -> Message:
        raise AssertionError("the body must not be read")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    limited = BodyLimitMiddleware(app, default_limit=1024, upload_limit=10_000)
    scope = {
        "type": "http",
        "path": "/v1/audio/transcriptions",
        "headers": [(b"content-length", str(50 * 1024 * 1024).encode())],
    }
    await limited(scope, receive, send)
    assert not reached_app
    assert sent[0]["status"] == 413
    assert limited.limit_for("/v1/audio/transcriptions") > limited.limit_for("/api/command")


async def test_request_timeout_is_504_but_streams_may_run_on(tmp_path: Path) -> None:
    settings = secure_settings(tmp_path, auth_mode="none", request_timeout=0.3)
    async with running(settings) as (app, http):

        @app.get("/api/test-slow")
        async def slow() -> dict[str, str]:
            await asyncio.sleep(5)
            return {"never": "sent"}

        @app.get("/api/test-stream")
        async def stream() -> StreamingResponse:
            async def body() -> AsyncIterator[bytes]:
                for _ in range(6):
                    await asyncio.sleep(0.1)
                    yield b"tick\n"

            return StreamingResponse(body())

        timed_out = await http.get("/api/test-slow")
        assert timed_out.status_code == 504
        assert timed_out.json()["error"]["code"] == "request_timeout"
        streamed = await http.get("/api/test-stream")
        assert streamed.status_code == 200 and streamed.text.count("tick") == 6


async def test_spend_cap_stops_paid_calls(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    base_url, fake = fake_openai
    settings = secure_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=base_url,
        llm_model="echo",
        llm_api_key="sk-test",
        daily_token_limit=20,
    )
    async with running(settings) as (app, http):
        user, admin = await make_user(app), await make_user(app, role="admin")
        before = fake.calls["echo"]
        first = await http.post(
            "/api/command", json={"text": "tell me a joke"}, headers=user.headers
        )
        assert first.status_code == 200 and first.json()["handled_by"]["name"] == "openai"
        capped = await http.post(
            "/api/command", json={"text": "tell me another one"}, headers=user.headers
        )
        assert capped.status_code == 429
        assert capped.json()["error"]["code"] == "spend_cap_exceeded"
        assert int(capped.headers["retry-after"]) <= 86400
        assert fake.calls["echo"] == before + 1, "the capped call never reached the provider"
        skill = await http.post(
            "/api/command", json={"text": "what is 2 plus 2"}, headers=user.headers
        )
        assert skill.status_code == 200, "skills cost nothing and stay available"
        usage = (await http.get("/api/admin/usage", headers=admin.headers)).json()
        mine = next(u for u in usage if u["user_id"] == user.id)
        assert mine["tokens"] >= 20 and mine["requests"] == 1


async def test_shared_answers_are_cached_personal_ones_are_not(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    base_url, fake = fake_openai
    settings = secure_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=base_url,
        llm_model="echo",
        llm_api_key="sk-test",
        ai_cache_ttl=60,
    )
    async with running(settings) as (app, http):
        one, two = await make_user(app), await make_user(app)
        question = {"text": "tell me a joke about caching"}
        before = fake.calls["echo"]
        first = (await http.post("/api/command", json=question, headers=one.headers)).json()
        second = (await http.post("/api/command", json=question, headers=two.headers)).json()
        assert second["reply"] == first["reply"] and second["data"].get("cached") is True
        assert fake.calls["echo"] == before + 1
        # The first user now has conversation memory: their prompt is personal.
        again = (await http.post("/api/command", json=question, headers=one.headers)).json()
        assert "cached" not in again["data"]
        assert fake.calls["echo"] == before + 2


async def test_an_answer_made_with_a_tool_is_never_replayed_to_another_user(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    base_url, fake = fake_openai
    settings = secure_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=base_url,
        llm_model="tools",  # calls the first offered tool, then answers with its result
        llm_api_key="sk-test",
        ai_cache_ttl=60,
    )
    async with running(settings) as (app, http):
        one, two = await make_user(app), await make_user(app)
        question = {"text": "tell me a joke about caching"}
        before = fake.calls["tools"]
        first = (await http.post("/api/command", json=question, headers=one.headers)).json()
        assert first["reply"].startswith("The tool said")
        assert fake.calls["tools"] == before + 2  # the call, then the answer
        second = (await http.post("/api/command", json=question, headers=two.headers)).json()
        assert "cached" not in second["data"]
        assert fake.calls["tools"] == before + 4
