"""Client tools on ``/v1/chat/completions`` through the official openai SDK, against the
app on a real socket whose LLM is a real chat-completions server that calls tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, run_fake_openai
from tests.live import live_app

WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Paris"}]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@pytest.fixture(scope="module")
def sdk(
    fake_openai: tuple[str, FakeOpenAI], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[openai.OpenAI]:
    folder: Path = tmp_path_factory.mktemp("chat-tools")
    settings = make_settings(
        folder, llm_provider="openai", llm_base_url=fake_openai[0], llm_model="tools"
    )
    with live_app(settings) as (url, _app):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        yield client
        client.close()


def _answered(call_id: str, arguments: str) -> list[ChatCompletionMessageParam]:
    return [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny and 21 degrees"},
    ]


def test_tool_call_and_its_result(sdk: openai.OpenAI, fake_openai: tuple[str, FakeOpenAI]) -> None:
    response = sdk.chat.completions.create(model="tools", messages=ASK, tools=[WEATHER])
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # Only the client's tools reach the model: Ballsy's own are not mixed in.
    assert [t["function"]["name"] for t in fake_openai[1].requests[-1]["tools"]] == ["get_weather"]
    answer = sdk.chat.completions.create(
        model="tools", messages=_answered(call.id, call.function.arguments), tools=[WEATHER]
    )
    assert answer.choices[0].message.content == "The tool said: sunny and 21 degrees."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.tool_calls is None
    sent = fake_openai[1].requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.id
    assert sent[2] == {"role": "tool", "content": "sunny and 21 degrees", "tool_call_id": call.id}


def test_streamed_tool_call_and_its_result(sdk: openai.OpenAI) -> None:
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    stream = sdk.chat.completions.create(
        model="tools", messages=ASK, tools=[WEATHER], tool_choice="auto", stream=True
    )
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for piece in delta.tool_calls or []:
            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += piece.id or ""
            if piece.function is not None:
                call["name"] += piece.function.name or ""
                call["arguments"] += piece.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    answer = sdk.chat.completions.create(
        model="tools",
        messages=_answered(calls[0]["id"], calls[0]["arguments"]),
        tools=[WEATHER],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
    assert text == "The tool said: sunny and 21 degrees."


def test_a_named_tool_choice_offers_that_tool(
    sdk: openai.OpenAI, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    other: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    }
    response = sdk.chat.completions.create(
        model="tools",
        messages=ASK,
        tools=[other, WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert (response.choices[0].message.tool_calls or [])[0].function.name == "get_weather"
    sent = fake_openai[1].requests[-1]
    assert sent["tool_choice"] == "required"
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]


@pytest.mark.parametrize(
    ("tools", "choice", "said"),
    [
        ([{"type": "function", "function": {"name": "has space"}}], None, "function.name"),
        ([{"type": "code_interpreter"}], None, "type 'function'"),
        ([{"type": "function"}], None, "function must be an object"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}],
            None,
            "JSON Schema of type 'object'",
        ),
        ([WEATHER, WEATHER], None, "given twice"),
        (None, "auto", "only allowed when tools are given"),
        ([WEATHER], "sometimes", "tool_choice must be one of"),
        ([WEATHER], {"type": "function", "function": {"name": "nope"}}, "not in tools"),
    ],
)
def test_bad_tool_definitions_are_a_clear_400(
    sdk: openai.OpenAI, tools: Any, choice: Any, said: str
) -> None:
    extra: dict[str, Any] = {}
    if tools is not None:
        extra["tools"] = tools
    if choice is not None:
        extra["tool_choice"] = choice
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="tools", messages=ASK, **extra)
    body = caught.value.response.json()
    assert body["error"]["code"] == "invalid_input"
    assert said in body["error"]["message"]


def test_a_tool_message_needs_its_call_id(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.chat.completions.create(
            model="tools",
            messages=[*ASK, {"role": "tool", "content": "x"}],  # type: ignore[list-item, typeddict-item]
        )
    assert caught.value.status_code == 422
    assert "tool_call_id" in caught.value.response.json()["error"]["message"]


def test_the_local_model_answers_in_text(
    sdk: openai.OpenAI, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    """Without LOCAL_LLM_TOOLS the local model is not sent the tools and answers."""
    response = sdk.chat.completions.create(
        model="local", messages=ASK, tools=[WEATHER], max_tokens=16
    )
    choice = response.choices[0]
    assert choice.message.tool_calls is None and choice.message.content
    assert choice.finish_reason in {"stop", "length"}
