"""Function calling on ``/v1/realtime`` end to end: the official ``openai`` SDK's realtime
client against Ballsy on a real socket, whose LLM is a real chat-completions server that
calls the first tool it is offered (tests/fake_openai.py, model ``tools``). Every server
event is validated against the SDK's own models (tests/realtime/sdk_log.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai
from tests.live import live_app
from tests.realtime.sdk_log import EventLog

Served = tuple[str, Any]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ASK = "what is the weather in Paris"


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@pytest.fixture(scope="module")
def served(
    fake_openai: tuple[str, FakeOpenAI], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    settings = make_settings(
        tmp_path_factory.mktemp("rt-tools"),
        llm_provider="openai",
        llm_base_url=fake_openai[0],
        llm_model="tools",
        llm_api_key="test-key",
        tools_allowed=[],  # only the client's functions: the fake calls the first offered
    )
    with live_app(settings) as running:
        yield running


@asynccontextmanager
async def talk(url: str, client_id: str) -> AsyncIterator[tuple[Any, EventLog]]:
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="not-needed")
    manager = client.realtime.connect(model="gpt-realtime", extra_query={"client_id": client_id})
    async with manager as connection, EventLog.attach(connection, "ga") as log:
        await log.wait_for("session.created")
        yield connection, log


async def test_the_sdk_runs_a_function_call_round_trip(
    served: Served, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    url, _app = served
    async with talk(url, "rt-tools") as (connection, log):
        await connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [WEATHER],  # type: ignore[list-item]
                "tool_choice": "auto",
            }
        )
        updated = await log.wait_for("session.updated")
        assert [tool.name for tool in updated.session.tools] == ["get_weather"]
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": ASK}],
            }
        )
        await connection.response.create()
        first = await log.wait_for("response.done")
        assert first.response.status == "completed"
        (call,) = first.response.output
        assert call.type == "function_call" and call.name == "get_weather"
        assert json.loads(call.arguments) == {"city": ASK}
        added = await log.wait_for("response.output_item.added")
        assert added.item.type == "function_call" and added.item.arguments == ""
        streamed = await log.wait_for("response.function_call_arguments.done")
        assert (streamed.call_id, streamed.arguments) == (call.call_id, call.arguments)
        assert not log.of("response.output_text.delta")  # nothing said before the call

        since = len(log.events)
        await connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
        )
        echoed = await log.wait_for("conversation.item.done", since=since)
        assert echoed.item.type == "function_call_output"
        await connection.response.create()
        second = await log.wait_for("response.done", since=since)
        assert second.response.status == "completed"
        (message,) = second.response.output
        assert message.type == "message"
        assert message.content[0].text == "The tool said: sunny."
        deltas = log.of("response.output_text.delta", since=since)
        assert "".join(d.delta for d in deltas).strip() == "The tool said: sunny."

    continued = fake_openai[1].requests[-1]
    assert [m["role"] for m in continued["messages"][-3:]] == ["user", "assistant", "tool"]
    assert continued["messages"][-3]["content"] == ASK
    assert continued["messages"][-2]["tool_calls"][0]["id"] == call.call_id
    assert continued["messages"][-1] == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": call.call_id,
    }
    assert [tool["function"]["name"] for tool in continued["tools"]] == ["get_weather"]
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{url}/api/history", params={"client_id": "rt-tools"})
    stored = [(turn["text"], turn["reply"]) for turn in page.json()["items"]]
    assert (ASK, "The tool said: sunny.") in stored


async def test_bad_function_call_input_gets_errors_and_the_socket_survives(
    served: Served,
) -> None:
    url, _app = served
    async with talk(url, "rt-tools-bad") as (connection, log):
        await connection.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
            }
        )
        orphan = await log.wait_for("error")
        assert orphan.error.code == "invalid_input" and orphan.error.param == "item.call_id"
        await connection.send(
            {"type": "session.update", "session": {"tools": [{"type": "mcp", "name": "ha"}]}}
        )
        malformed = await log.wait_for("error", since=log.index(orphan) + 1)
        assert malformed.error.code == "invalid_value"
        assert malformed.error.param == "session.tools.0.type"
        await connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
        await log.wait_for("session.updated")  # still connected and listening
