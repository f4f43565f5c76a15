"""Assistant turns with tools: Ballsy's skills offered to a tool-calling model (a real
chat-completions server), client tools and continuations, the local model left alone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ballsy.assistant.service import Assistant
from ballsy.llm.base import ChatMessage, ToolSpec
from ballsy.llm.registry import LLMRegistry
from ballsy.services import Services
from ballsy.store.db import Database
from ballsy.tools.base import ToolContext
from ballsy.tools.box import ToolBox
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


async def _services(tmp_path: Path, base_url: str, **settings: Any) -> Services:
    services = Services.build(
        make_settings(
            tmp_path,
            llm_provider="openai",
            llm_base_url=base_url,
            llm_model="tools",
            llm_max_retries=0,
            **settings,
        )
    )
    await services.database.migrate()
    return services


@pytest.fixture
async def services(tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]) -> AsyncIterator[Services]:
    built = await _services(tmp_path, fake_openai[0])
    yield built
    await built.close()


async def _reply(assistant: Assistant, turn: Any) -> str:
    return "".join([piece async for piece in assistant.reply(turn)])


async def test_ballsy_tool_runs_and_the_answer_holds_its_result(
    services: Services, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    result = await services.assistant.run("tools-a", "tell me something useful")
    # The fake calls the first tool offered: Ballsy's get_time.
    assert result.handled_by.kind == "llm"
    assert result.reply.startswith("The tool said: It's ") and "UTC" in result.reply
    assert result.data["tools"] == [{"source": "ballsy", "tool": "get_time", "outcome": "ok"}]
    # Both steps' usage, summed (the fake counts a reply's words as its tokens).
    words = len(result.reply.split(" "))
    assert result.data["usage"] == {"prompt_tokens": 20 + 12, "completion_tokens": 8 + words}
    assert {"llm_first_token_ms", "llm_ms", "tools_ms"} <= set(result.timings)
    offered = [t["function"]["name"] for t in fake_openai[1].requests[-1]["tools"]]
    assert {"set_timer", "set_reminder", "add_to_list", "calculate"} <= set(offered)


async def test_skills_still_answer_first(
    services: Services, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    seen = len(fake_openai[1].requests)
    result = await services.assistant.run("tools-b", "add eggs and milk to my shopping list")
    assert result.handled_by.kind == "skill" and result.handled_by.name == "lists"
    assert len(fake_openai[1].requests) == seen, "no LLM call for a skill's phrasing"


async def test_a_list_tool_changes_the_users_list(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    services = await _services(tmp_path, fake_openai[0], tools_allowed=["ballsy.add_to_list"])
    try:
        said = await services.assistant.run("tools-c", "bread, cheese and olives")
        assert said.reply == (
            "The tool said: I added bread, cheese and olives to your shopping list.."
        )
        read = await services.assistant.run("tools-c", "what's on my shopping list")
        assert read.handled_by.kind == "skill"
        assert read.reply == "Your shopping list has 3 items: bread, cheese and olives."
        offered = [t["function"]["name"] for t in fake_openai[1].requests[-1]["tools"]]
        assert offered == ["add_to_list"]
    finally:
        await services.close()


async def test_no_allowed_tools_means_a_plain_reply(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    services = await _services(tmp_path, fake_openai[0], tools_allowed=[])
    try:
        result = await services.assistant.run("tools-d", "tell me a joke")
    finally:
        await services.close()
    assert "tools" not in fake_openai[1].requests[-1]
    assert "tools" not in result.data and "scarecrow" in result.reply


async def test_client_tool_call_ends_the_turn_and_the_continuation_answers(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    services = await _services(tmp_path, fake_openai[0], tools_allowed=[])
    assistant = services.assistant
    try:
        turn = await assistant.begin("tools-e", "Paris", client_tools=[WEATHER])
        assert await _reply(assistant, turn) == ""
        (call,) = turn.client_calls
        assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
        await assistant.finish(turn, "")
        continuation = [
            ChatMessage(role="assistant", content="", tool_calls=turn.client_calls),
            ChatMessage(role="tool", content="sunny", tool_call_id=call.id),
        ]
        more = await assistant.begin(
            "tools-e", "Paris", client_tools=[WEATHER], continuation=continuation
        )
        assert [m.role for m in more.prompt] == ["system", "user", "assistant", "tool"]
        assert await _reply(assistant, more) == "The tool said: sunny."
        assert more.client_calls == ()
        stored = await assistant.finish(more, "The tool said: sunny.")
        assert stored.text == "Paris"
        # Memory holds the user's words once, then the answer.
        next_turn = await assistant.begin("tools-e", "thanks")
        assert [(m.role, m.content) for m in next_turn.prompt[1:]] == [
            ("user", "Paris"),
            ("assistant", "The tool said: sunny."),
            ("user", "thanks"),
        ]
    finally:
        await services.close()


async def test_a_continuation_is_not_taken_by_a_skill(
    services: Services, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    assistant = services.assistant
    turn = await assistant.begin("tools-f", "what is 2 plus 2", client_tools=[WEATHER])
    assert await _reply(assistant, turn) == "2 plus 2 is 4."
    assert turn.handled_by == "skill" and turn.client_calls == ()
    continuation = [ChatMessage(role="tool", content="four", tool_call_id="call_1")]
    more = await assistant.begin(
        "tools-f", "what is 2 plus 2", client_tools=[WEATHER], continuation=continuation
    )
    assert await _reply(assistant, more) == "The tool said: four."
    assert more.handled_by == "llm"


class Counting:
    """A tool source that only counts how often it is asked for its tools."""

    name = "counting"

    def __init__(self) -> None:
        self.asked = 0

    def specs(self) -> Sequence[ToolSpec]:
        self.asked += 1
        return [WEATHER]

    async def call(self, tool: str, arguments: Mapping[str, Any], context: ToolContext) -> str:
        raise AssertionError("never called")


async def test_the_local_model_is_not_offered_tools_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    database = Database(settings)
    await database.migrate()
    llms = LLMRegistry(settings)
    source = Counting()
    assistant = Assistant(settings, database, llms, tools=ToolBox([source]))
    try:
        result = await assistant.run("tools-g", "Name a color.")
    finally:
        await llms.close()
        await database.dispose()
    assert result.handled_by.kind == "llm" and result.handled_by.name == "local"
    assert result.reply
    assert source.asked == 0 and "tools" not in result.data
