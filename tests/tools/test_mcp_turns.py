"""A whole assistant turn through an MCP tool: Ballsy's app, a real MCP server over
stdio (tests/tools/mcp_server.py) and the tool-calling chat server standing in for a
remote model (tests/fake_openai.py: it calls the first offered tool, then answers
"The tool said: <result>.")."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from ballsy.app import create_app
from ballsy.config import McpServerSettings
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai

SERVER = Path(__file__).with_name("mcp_server.py")


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@asynccontextmanager
async def assistant_with_mcp(
    tmp_path: Path, base_url: str, allowed: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    local = McpServerSettings(name="local", command=[sys.executable, str(SERVER), "stdio"])  # type: ignore[arg-type]
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=base_url,
        llm_api_key="sk-test",
        llm_model="tools",
        mcp_servers=[local],
        tools_allowed=[allowed],  # the fake model calls the first offered tool: this one
        tools_call_timeout=2.0,
        mcp_call_timeout=1.5,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        (server,) = app.state.services.mcp.servers
        assert await server.wait_connected(within=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http


async def ask(http: httpx.AsyncClient, text: str) -> tuple[dict[str, object], float]:
    started = time.perf_counter()
    response = await http.post("/api/command", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json(), time.perf_counter() - started


async def test_the_model_calls_an_mcp_tool_and_the_answer_carries_its_result(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    base_url, fake = fake_openai
    async with assistant_with_mcp(tmp_path, base_url, "local__echo") as (_, http):
        body, _ = await ask(http, "please repeat the blue heron")
    assert body["reply"] == "The tool said: echo: please repeat the blue heron."
    # The model was offered the MCP tool and got its result back as a tool message.
    offered = fake.requests[-2]["tools"]
    assert [tool["function"]["name"] for tool in offered] == ["local__echo"]
    assert fake.requests[-1]["messages"][-1]["role"] == "tool"


@pytest.mark.parametrize("tool", ["local__hang", "local__crash"])
async def test_a_hanging_or_crashing_mcp_server_does_not_hang_the_turn(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI], tool: str
) -> None:
    base_url, _ = fake_openai
    async with assistant_with_mcp(tmp_path, base_url, tool) as (_, http):
        body, seconds = await ask(http, "do the thing now")
        # The model hears the failure and says so; the turn ends within the timeouts.
        reply = str(body["reply"])
        assert reply.startswith("The tool said: The tool failed"), reply
        assert seconds < 6.0
        # The process goes on serving the next turn.
        again, _ = await ask(http, "what is two plus two")
        assert "4" in str(again["reply"])
