"""The bounded tool loop against a real chat-completions server whose model calls tools:
results fed back, failures and hangs told to the model, steps and the allow-list kept."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, ToolCall, ToolSpec
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.tools.base import ToolContext, ToolFailed
from ballsy.tools.box import ToolBox, allowed_by
from ballsy.tools.loop import ToolLoop
from tests.fake_openai import FakeOpenAI, run_fake_openai

CONTEXT = ToolContext(user_id="u1", now=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
QUESTION = [ChatMessage(role="user", content="where is my parcel")]
QUERY = {"type": "object", "properties": {"query": {"type": "string"}}}


class Lookup:
    """A tool source of the test's own: one tool per behaviour, like a small MCP server."""

    def __init__(self, name: str = "shop", tools: Sequence[str] = ("track_parcel",)) -> None:
        self.name = name
        self.tools = list(tools)
        self.calls: list[tuple[str, dict[str, Any], ToolContext]] = []

    def specs(self) -> Sequence[ToolSpec]:
        return [ToolSpec(tool, f"The {tool} tool.", QUERY) for tool in self.tools]

    async def call(self, tool: str, arguments: Mapping[str, Any], context: ToolContext) -> str:
        self.calls.append((tool, dict(arguments), context))
        if tool == "explode":
            raise RuntimeError("the database is on fire")
        if tool == "refuse":
            raise ToolFailed("no such parcel")
        if tool == "hang":
            await asyncio.sleep(60)
        if tool == "stubborn":  # swallows its cancellation and goes on
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                await asyncio.sleep(2)
        return f"parcel for {context.user_id} arrives Tuesday"


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@pytest.fixture
async def llm(fake_openai: tuple[str, FakeOpenAI]) -> AsyncIterator[OpenAICompatibleLLM]:
    provider = OpenAICompatibleLLM(
        name="openai",
        model="tools",
        base_url=fake_openai[0],
        api_key="sk",
        timeout=5,
        max_retries=0,
    )
    yield provider
    await provider.close()


async def _answer(
    llm: OpenAICompatibleLLM, box: ToolBox, model: str = "tools"
) -> tuple[str, list[Delta], ToolLoop]:
    loop = ToolLoop(llm, box, CONTEXT)
    deltas = [d async for d in loop.stream(QUESTION, GenerationOptions(model=model))]
    return "".join(d.text for d in deltas), deltas, loop


def _count(source: str, tool: str, outcome: str) -> float:
    labels = {"source": source, "tool": tool, "outcome": outcome}
    return REGISTRY.get_sample_value("ballsy_tool_calls_total", labels) or 0.0


async def test_the_result_is_fed_back_and_answered(
    llm: OpenAICompatibleLLM, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    source = Lookup()
    before = _count("shop", "track_parcel", "ok")
    text, deltas, loop = await _answer(llm, ToolBox([source]))
    assert text == "The tool said: parcel for u1 arrives Tuesday."
    assert len([d for d in deltas if d.text]) > 1, "the final answer streams"
    assert source.calls == [("track_parcel", {"query": "where is my parcel"}, CONTEXT)]
    # Usage of both steps, summed.
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage is not None and deltas[-1].usage.prompt_tokens == 20 + 12
    assert [r.outcome for r in loop.results] == ["ok"] and loop.steps == 1
    assert _count("shop", "track_parcel", "ok") == before + 1
    sent = fake_openai[1].requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "track_parcel"
    assert sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


async def test_a_tool_that_raises_is_told_to_the_model(llm: OpenAICompatibleLLM) -> None:
    text, _, loop = await _answer(llm, ToolBox([Lookup(tools=["explode"])]))
    assert text == "The tool said: The tool failed: RuntimeError.."
    assert "fire" not in text, "an unexpected error's message stays in the server"
    assert loop.results[0].outcome == "error"


async def test_a_tool_failure_says_why(llm: OpenAICompatibleLLM) -> None:
    text, _, loop = await _answer(llm, ToolBox([Lookup(tools=["refuse"])]))
    assert text == "The tool said: The tool failed: no such parcel."
    assert loop.results[0].outcome == "failed"


@pytest.mark.parametrize("tool", ["hang", "stubborn"])
async def test_a_hanging_tool_times_out_and_the_turn_answers(
    llm: OpenAICompatibleLLM, tool: str
) -> None:
    box = ToolBox([Lookup(tools=[tool])], call_timeout=0.3)
    started = time.perf_counter()
    text, _, loop = await _answer(llm, box)
    assert time.perf_counter() - started < 1.5
    assert "did not answer within 0.3 seconds" in text
    assert loop.results[0].outcome == "timeout"


async def test_a_tool_gone_from_the_list_is_unknown(llm: OpenAICompatibleLLM) -> None:
    class Vanishing(Lookup):
        def specs(self) -> Sequence[ToolSpec]:
            offered = super().specs()
            self.tools = []  # the server's list changed after it was offered
            return offered

    text, _, loop = await _answer(llm, ToolBox([Vanishing()]))
    assert text == "The tool said: There is no tool named 'track_parcel' that you may call.."
    assert loop.results[0].outcome == "unknown" and loop.results[0].source == "none"


async def test_bad_arguments_and_unknown_names_never_reach_a_source() -> None:
    source = Lookup()
    box = ToolBox([source])
    bad = await box.call(ToolCall("c1", "track_parcel", '{"query": '), CONTEXT)
    assert bad.outcome == "bad_arguments" and "not valid JSON" in bad.text
    not_object = await box.call(ToolCall("c2", "track_parcel", '["a"]'), CONTEXT)
    assert not_object.outcome == "bad_arguments" and "JSON object" in not_object.text
    unknown = await box.call(ToolCall("c3", "rm_rf", "{}"), CONTEXT)
    assert unknown.outcome == "unknown" and "rm_rf" in unknown.text
    assert source.calls == []


async def test_past_max_steps_the_model_must_answer(
    llm: OpenAICompatibleLLM, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    _, fake = fake_openai
    source = Lookup()
    seen = len(fake.requests)
    text, deltas, loop = await _answer(llm, ToolBox([source], max_steps=2), "tools-always")
    requests = fake.requests[seen:]
    assert [r.get("tool_choice") for r in requests] == [None, None, "none"]
    assert len(source.calls) == 2 and loop.steps == 2
    assert text.startswith("The tool said:") and deltas[-1].finish_reason == "stop"


async def test_only_allowed_tools_are_offered_and_run(
    llm: OpenAICompatibleLLM, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    shop, home = Lookup("shop", ["track_parcel"]), Lookup("home", ["lights_off", "unlock"])
    box = ToolBox([shop, home], allowed=["home.lights_*"])
    assert [spec.name for spec in box.specs()] == ["lights_off"]
    text, _, _ = await _answer(llm, box)
    assert [t["function"]["name"] for t in fake_openai[1].requests[-1]["tools"]] == ["lights_off"]
    assert [call[0] for call in home.calls] == ["lights_off"] and shop.calls == []
    assert "arrives Tuesday" in text
    refused = await box.call(ToolCall("c1", "unlock", "{}"), CONTEXT)
    assert refused.outcome == "unknown" and home.calls[-1][0] == "lights_off"


def test_allow_list_patterns() -> None:
    assert allowed_by(["*"], "ballsy", "set_timer")
    assert allowed_by(["ballsy.*"], "ballsy", "set_timer")
    assert allowed_by(["set_timer"], "ballsy", "set_timer")
    assert allowed_by(["ballsy.set_timer"], "ballsy", "set_timer")
    assert not allowed_by(["home.*"], "ballsy", "set_timer")
    assert not allowed_by([], "ballsy", "set_timer")


async def test_a_client_tool_ends_the_stream_with_its_call(llm: OpenAICompatibleLLM) -> None:
    source = Lookup()
    client = ToolSpec("open_door", "Opens the door.", QUERY)
    # The fake calls the first tool offered: Ballsy's come first, so none of them here.
    loop = ToolLoop(llm, ToolBox([source], allowed=()), CONTEXT, client_tools=[client])
    deltas = [d async for d in loop.stream(QUESTION, GenerationOptions())]
    assert deltas[-1].finish_reason == "tool_calls"
    assert [c.name for c in loop.client_calls] == ["open_door"]
    assert json.loads(loop.client_calls[0].arguments) == {"query": "where is my parcel"}
    assert loop.results == [] and source.calls == []
