"""``POST /api/command`` through the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest


async def command(client: httpx.AsyncClient, text: str, client_id: str) -> httpx.Response:
    return await client.post("/api/command", json={"text": text, "client_id": client_id})


async def test_math_skill_answers_without_llm(client: httpx.AsyncClient, client_id: str) -> None:
    response = await command(client, "what is 12 times 7", client_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "84" in body["reply"]
    assert body["handled_by"] == {"kind": "skill", "name": "math", "model": None}
    assert body["data"]["value"] == 84
    assert {"prepare_ms", "skills_ms", "total_ms"} <= set(body["timings"])
    assert "llm_ms" not in body["timings"]


async def test_number_words(client: httpx.AsyncClient, client_id: str) -> None:
    body = (await command(client, "What is twelve times seven?", client_id)).json()
    assert body["data"]["value"] == 84


async def test_link_skill_returns_a_url(client: httpx.AsyncClient, client_id: str) -> None:
    body = (await command(client, "play relaxing jazz on Spotify", client_id)).json()
    assert body["handled_by"]["name"] == "links"
    assert body["data"]["url"].startswith("https://open.spotify.com/search/relaxing")


async def test_llm_answers_a_joke(client: httpx.AsyncClient, client_id: str) -> None:
    response = await command(client, "tell me a joke", client_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["handled_by"]["kind"] == "llm" and body["handled_by"]["name"] == "local"
    assert len(body["reply"].split()) >= 3
    assert body["timings"]["llm_first_token_ms"] <= body["timings"]["llm_ms"]


async def test_history_shows_both_turns_newest_first(
    client: httpx.AsyncClient, client_id: str
) -> None:
    await command(client, "what is 12 times 7", client_id)
    await command(client, "tell me a joke", client_id)
    page = (await client.get("/api/history", params={"client_id": client_id})).json()
    assert [i["text"] for i in page["items"]] == ["tell me a joke", "what is 12 times 7"]
    assert page["items"][1]["handled_by"]["name"] == "math"
    assert page["next_before"] is None


async def test_history_pagination_is_bounded(client: httpx.AsyncClient, client_id: str) -> None:
    for i in range(5):
        await command(client, f"what is {i} plus 1", client_id)
    first = (await client.get("/api/history", params={"client_id": client_id, "limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_before"]
    rest = (
        await client.get(
            "/api/history",
            params={"client_id": client_id, "limit": 100000, "before": first["next_before"]},
        )
    ).json()
    assert [i["text"] for i in rest["items"]] == [f"what is {i} plus 1" for i in (2, 1, 0)]
    assert rest["next_before"] is None


async def test_history_is_per_user(client: httpx.AsyncClient, client_id: str) -> None:
    await command(client, "what is 1 plus 1", client_id)
    other = (await client.get("/api/history", params={"client_id": client_id + "-x"})).json()
    assert other["items"] == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"text": ""}, "empty"),
        ({"text": "   \n\t "}, "empty"),
        ({"text": "\x00\x01\x02"}, "empty"),
        ({"text": "x" * 1001}, "limit is 1000"),
        ({"text": 42}, "string"),
        ({}, "required"),
        ({"text": "hi", "client_id": "../../etc/passwd"}, "pattern"),
        ({"text": "hi", "unknown": 1}, "extra"),
    ],
)
async def test_bad_input_is_422(
    client: httpx.AsyncClient, payload: dict[str, object], fragment: str
) -> None:
    response = await client.post("/api/command", json=payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"].lower()


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/command", content=b'{"text": "hi"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE command_history; --",
        "<script>alert('x')</script> what is 2 plus 2",
        "Robert'); DELETE FROM users WHERE ('1'='1",
    ],
)
async def test_hostile_text_is_stored_verbatim(
    client: httpx.AsyncClient, client_id: str, text: str
) -> None:
    response = await command(client, text, client_id)
    assert response.status_code == 200
    page = (await client.get("/api/history", params={"client_id": client_id})).json()
    assert page["items"][0]["text"] == text


async def test_control_characters_are_cleaned(client: httpx.AsyncClient, client_id: str) -> None:
    body = (await command(client, "what is 2\x00 plus\x07 2", client_id)).json()
    assert body["text"] == "what is 2 plus 2" and body["data"]["value"] == 4
