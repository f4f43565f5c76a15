"""What the LLM sees: persona, recent turns within the memory length, the question.

Uses the local fake of a remote chat API so the exact messages sent can be read back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ballsy.app import create_app
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@pytest.fixture
async def http(
    fake_openai: tuple[str, FakeOpenAI], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=fake_openai[0],
        llm_model="echo",
        memory_turns=2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def ask(http: httpx.AsyncClient, text: str, client_id: str = "mem") -> None:
    response = await http.post("/api/command", json={"text": text, "client_id": client_id})
    assert response.status_code == 200, response.text


async def test_recent_turns_reach_the_llm_in_order(
    http: httpx.AsyncClient, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    _, fake = fake_openai
    for question in ("My name is Zebulon.", "I live in Lyon.", "I like tea.", "Who am I?"):
        await ask(http, question)
    messages = fake.requests[-1]["messages"]
    assert messages[0]["role"] == "system" and "Ballsy" in messages[0]["content"]
    said = [(m["role"], m["content"]) for m in messages[1:]]
    # memory_turns=2: the two previous turns (user + assistant each), then the question.
    assert [role for role, _ in said] == ["user", "assistant", "user", "assistant", "user"]
    assert [text for role, text in said if role == "user"] == [
        "I live in Lyon.",
        "I like tea.",
        "Who am I?",
    ]


async def test_skill_turns_are_remembered_too(
    http: httpx.AsyncClient, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    _, fake = fake_openai
    await ask(http, "what is 6 times 7", "mem-skill")
    await ask(http, "and why is that a famous number?", "mem-skill")
    contents = [m["content"] for m in fake.requests[-1]["messages"]]
    assert "what is 6 times 7" in contents and any("42" in c for c in contents)


async def test_persona_and_memory_length_come_from_settings(
    http: httpx.AsyncClient, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    _, fake = fake_openai
    await http.put(
        "/api/settings",
        params={"client_id": "mem-p"},
        json={"system_prompt": "You are a pirate.", "memory_turns": 0},
    )
    await ask(http, "hello", "mem-p")
    await ask(http, "hello again", "mem-p")
    messages = fake.requests[-1]["messages"]
    assert messages[0]["content"].startswith("You are a pirate.")
    assert [m["content"] for m in messages[1:]] == ["hello again"]


async def test_users_do_not_share_memory(
    http: httpx.AsyncClient, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    _, fake = fake_openai
    await ask(http, "My secret is 1234.", "mem-a")
    await ask(http, "What is my secret?", "mem-b")
    contents = " ".join(m["content"] for m in fake.requests[-1]["messages"])
    assert "1234" not in contents
