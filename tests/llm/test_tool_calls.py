"""Tools through the LLM providers: sent as OpenAI function tools, calls assembled into
one delta (a real local chat-completions server; the real local model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ballsy.llm.base import ChatMessage, GenerationOptions, ToolCall, ToolSpec, complete
from ballsy.llm.local import LocalLLM, _message
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers.local import build_local
from ballsy.llm.tool_calls import TextToolCalls
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
QUESTION = [ChatMessage(role="user", content="Paris")]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


def provider(base_url: str) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        name="openai", model="tools", base_url=base_url, api_key="sk", timeout=5, max_retries=0
    )


async def test_streamed_call_is_one_assembled_delta(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url)
    options = GenerationOptions(tools=(WEATHER,), tool_choice="auto")
    deltas = [d async for d in llm.stream(QUESTION, options)]
    await llm.close()
    with_calls = [d for d in deltas if d.tool_calls]
    assert len(with_calls) == 1 and with_calls[0] is deltas[-1]
    assert deltas[-1].finish_reason == "tool_calls"
    (call,) = deltas[-1].tool_calls
    # The fake split the arguments over two chunks: they arrive whole.
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.id.startswith("call_")
    assert deltas[-1].usage is not None and deltas[-1].usage.prompt_tokens == 20
    sent = fake.requests[-1]
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": dict(WEATHER.parameters),
            },
        }
    ]
    assert sent["tool_choice"] == "auto"


async def test_whole_completion_holds_the_calls(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, _ = fake_openai
    llm = provider(base_url)
    result = await complete(llm, QUESTION, GenerationOptions(tools=(WEATHER,)))
    await llm.close()
    assert result.finish_reason == "tool_calls" and result.text == ""
    assert [c.name for c in result.tool_calls] == ["get_weather"]


async def test_tool_results_are_sent_back_in_the_openai_shape(
    fake_openai: tuple[str, FakeOpenAI],
) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url)
    call = ToolCall(id="call_7", name="get_weather", arguments='{"city": "Paris"}')
    messages = [
        *QUESTION,
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content="sunny and 21 degrees", tool_call_id="call_7"),
    ]
    result = await complete(llm, messages, GenerationOptions(tools=(WEATHER,)))
    await llm.close()
    assert result.text == "The tool said: sunny and 21 degrees."
    assert result.finish_reason == "stop" and result.tool_calls == ()
    sent = fake.requests[-1]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_7",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "content": "sunny and 21 degrees", "tool_call_id": "call_7"}


async def test_no_tools_means_none_sent(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url)
    result = await complete(llm, QUESTION, GenerationOptions())
    await llm.close()
    assert result.tool_calls == () and result.text
    assert "tools" not in fake.requests[-1] and "tool_choice" not in fake.requests[-1]


def test_calls_written_as_text_are_held_back_and_parsed() -> None:
    written = TextToolCalls()
    reply = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    passed = "".join(written.feed(reply[i : i + 3]) for i in range(0, len(reply), 3))
    assert passed == "" and written.rest() == ""
    (call,) = written.calls()
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}


def test_plain_text_passes_once_it_cannot_be_a_call() -> None:
    written = TextToolCalls()
    pieces = [written.feed(piece) for piece in (" <t", "he answer", " is 4.")]
    assert pieces == ["", " <the answer", " is 4."]
    assert written.calls() == () and written.rest() == ""
    broken = TextToolCalls()
    assert broken.feed("<tool_call>{not json") == ""
    assert broken.calls() == () and broken.rest() == "<tool_call>{not json"


def test_local_tools_are_off_unless_the_setting_says_so(tmp_path: object) -> None:
    assert build_local(make_settings(tmp_path)).supports_tools is False  # type: ignore[arg-type]
    on = make_settings(tmp_path, local_llm_tools=True)  # type: ignore[arg-type]
    assert build_local(on).supports_tools is True


def test_local_messages_without_tools_are_plain_text() -> None:
    call = ToolCall(id="c1", name="get_weather", arguments='{"city": "Paris"}')
    asked = ChatMessage(role="assistant", content="", tool_calls=(call,))
    answered = ChatMessage(role="tool", content="sunny", tool_call_id="c1")
    assert _message(asked, tools=False) == {
        "role": "assistant",
        "content": "(I used get_weather.)",
    }
    assert _message(answered, tools=False)["role"] == "user"
    with_tools = _message(asked, tools=True)
    # Chat templates write the arguments with tojson: an object, not its text.
    assert with_tools["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert _message(answered, tools=True) == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": "c1",
    }


@pytest.mark.parametrize("tools", [False, True])
async def test_local_model_answers_with_tools_offered(tools: bool) -> None:
    """Off: the tools are not sent and the model answers in text. On: they go into the
    chat template (SmolLM2's ignores them) and the reply still streams."""
    llm = LocalLLM(model="fast", tools=tools)
    messages = [ChatMessage(role="user", content="What is the capital of France?")]
    options = GenerationOptions(max_tokens=24, temperature=0, tools=(WEATHER,))
    deltas = [d async for d in llm.stream(messages, options)]
    await llm.close()
    assert "".join(d.text for d in deltas).strip()
    assert not any(d.tool_calls for d in deltas)
    assert deltas[-1].finish_reason in {"stop", "length"}


@pytest.mark.slow
async def test_the_smart_model_calls_an_offered_tool(tmp_path: Path) -> None:
    """Qwen2.5's own chat template writes the call; it arrives as one tool-call delta."""
    llm = LocalLLM(model="smart", cache_dir=tmp_path, tools=True)
    messages = [ChatMessage(role="user", content="What's the weather like in Paris right now?")]
    options = GenerationOptions(max_tokens=64, temperature=0, tools=(WEATHER,))
    deltas = [d async for d in llm.stream(messages, options)]
    await llm.close()
    calls = [call for d in deltas for call in d.tool_calls]
    assert [call.name for call in calls] == [WEATHER.name], deltas
    assert "paris" in json.loads(calls[0].arguments)["city"].lower()
    assert deltas[-1].finish_reason == "tool_calls"
