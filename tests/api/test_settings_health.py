"""``/api/settings``, ``/health`` and ``/ready``."""

from __future__ import annotations

import httpx
import pytest

from ballsy.app import create_app
from tests.conftest import make_settings


async def test_defaults_then_update(client: httpx.AsyncClient, client_id: str) -> None:
    params = {"client_id": client_id}
    defaults = (await client.get("/api/settings", params=params)).json()
    assert defaults["speed"] == 1.0 and defaults["llm_provider"] == "local"
    assert defaults["memory_turns"] == 6 and "Ballsy" in defaults["system_prompt"]
    changed = await client.put(
        "/api/settings",
        params=params,
        json={
            "speed": 1.25,
            "language": "fr",
            "system_prompt": "You are a pirate.",
            "memory_turns": 2,
        },
    )
    assert changed.status_code == 200, changed.text
    again = (await client.get("/api/settings", params=params)).json()
    assert (again["speed"], again["language"], again["memory_turns"]) == (1.25, "fr", 2)
    assert again["system_prompt"] == "You are a pirate."
    reset = (await client.put("/api/settings", params=params, json={"speed": None})).json()
    assert reset["speed"] == 1.0 and reset["language"] == "fr"


async def test_settings_are_per_user(client: httpx.AsyncClient, client_id: str) -> None:
    await client.put("/api/settings", params={"client_id": client_id}, json={"speed": 2.0})
    other = (await client.get("/api/settings", params={"client_id": client_id + "-b"})).json()
    assert other["speed"] == 1.0


@pytest.mark.parametrize(
    "payload",
    [
        {"speed": 10},
        {"speed": 0},
        {"speed": "fast"},
        {"memory_turns": -1},
        {"memory_turns": 1000},
        {"language": "english!"},
        {"llm_provider": "skynet"},
        {"favourite_colour": "blue"},
        {"system_prompt": ""},
        {"system_prompt": "x" * 5000},
    ],
)
async def test_invalid_settings_are_422(
    client: httpx.AsyncClient, client_id: str, payload: dict[str, object]
) -> None:
    response = await client.put("/api/settings", params={"client_id": client_id}, json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


async def test_persona_reaches_the_llm(client: httpx.AsyncClient, client_id: str) -> None:
    await client.put(
        "/api/settings",
        params={"client_id": client_id},
        json={"system_prompt": "Always answer with the single word BANANA."},
    )
    body = (
        await client.post("/api/command", json={"text": "hello there", "client_id": client_id})
    ).json()
    assert body["handled_by"]["kind"] == "llm"
    assert body["reply"]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] and checks["llm"]["ok"]


async def test_ready_is_503_when_the_database_is_gone(tmp_path: object) -> None:
    settings = make_settings(
        tmp_path,  # type: ignore[arg-type]
        database_url="postgresql://postgres@127.0.0.1:5432/ballsy_missing_db",
    )
    app = create_app(settings)
    # Startup migrations would fail on a missing database, so build services without them.
    from ballsy.services import Services

    app.state.services = Services.build(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/health")).status_code == 200
        ready = await http.get("/ready")
    await app.state.services.close()
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not_ready" and body["checks"]["database"]["ok"] is False
    assert body["checks"]["llm"]["ok"] is True


async def test_ready_stays_200_but_shows_degraded_state_without_redis(tmp_path: object) -> None:
    settings = make_settings(
        tmp_path,  # type: ignore[arg-type]
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            ready = await http.get("/ready")
            command = await http.post("/api/command", json={"text": "what is 1 plus 1"})
    assert ready.status_code == 200, ready.text
    state = ready.json()["checks"]["state"]
    assert state["degraded"] is True and state["configured"] == "redis"
    assert command.status_code == 200
