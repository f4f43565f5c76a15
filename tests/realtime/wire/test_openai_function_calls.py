"""Function calling on ``/v1/realtime``'s conversation: ``session.tools``, the
``function_call`` output items, ``function_call_output`` and the continuation — on a
real ``VoiceSession`` with fake ports, every server event validated against the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ballsy.config import Settings
from ballsy.llm.base import ChatMessage, ToolCall
from ballsy.realtime.wire.openai.function_calls import MAX_OUTPUT, MAX_ROUNDS
from tests.conftest import make_settings
from tests.realtime.wire.conversation_rig import Client, connect, in_order

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
}
CLOCK = {"type": "function", "name": "get_time", "description": "The time in a city."}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, max_command_length=1000)


async def with_tools(
    settings: Settings, *tools: dict[str, Any], dialect: str = "ga", **session: Any
) -> Client:
    client = connect(settings, dialect=dialect)  # type: ignore[arg-type]
    update = {"tools": list(tools or (WEATHER,))} | session
    await client.send({"type": "session.update", "session": update})
    return client


def output(call_id: str, text: str) -> dict[str, Any]:
    item = {"type": "function_call_output", "call_id": call_id, "output": text}
    return {"type": "conversation.item.create", "item": item}


async def called(client: Client, text: str, count: int = 1) -> dict[str, Any]:
    """Ask ``text``; the response that ends in a function call."""
    await client.say(text)
    await client.send({"type": "response.create"})
    done = (await client.until("response.done", count=count))["response"]
    assert done["status"] == "completed", done
    return done


async def test_session_tools_are_echoed_and_offered_to_the_model(settings: Settings) -> None:
    client = await with_tools(settings, WEATHER, CLOCK, tool_choice="auto")
    session = client.sink.of("session.updated")[-1]["session"]
    assert [tool["name"] for tool in session["tools"]] == ["get_weather", "get_time"]
    assert session["tools"][1]["parameters"] == {"type": "object", "properties": {}}
    assert session["tool_choice"] == "auto"
    offered = client.rig.session.options.client_tools
    assert [tool.name for tool in offered] == ["get_weather", "get_time"]
    choose = {"type": "function", "name": "get_time"}
    await client.send({"type": "session.update", "session": {"tool_choice": choose}})
    assert client.sink.of("session.updated")[-1]["session"]["tool_choice"] == choose
    assert [tool.name for tool in client.rig.session.options.client_tools] == ["get_time"]
    await client.send({"type": "session.update", "session": {"tool_choice": "none"}})
    assert client.rig.session.options.client_tools == ()


async def test_a_function_call_round_trip(settings: Settings) -> None:
    client = await with_tools(settings)
    first = await called(client, "what is the weather in Paris")
    (item,) = first["output"]
    assert item["type"] == "function_call" and item["name"] == "get_weather"
    assert json.loads(item["arguments"]) == {"query": "what is the weather in Paris"}
    assert item["status"] == "completed"
    in_order(
        client.sink,
        "response.created",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.done",
    )
    added = client.sink.of("response.output_item.added")[0]
    assert added["item"]["arguments"] == "" and added["output_index"] == 0
    done_args = client.sink.of("response.function_call_arguments.done")[0]
    assert (done_args["call_id"], done_args["item_id"]) == (item["call_id"], item["id"])
    assert not client.sink.of("response.output_audio.delta")
    assert not client.sink.of("response.content_part.added")  # no message: nothing said

    await client.send(output(item["call_id"], "sunny, 21 degrees"))
    echoed = client.sink.of("conversation.item.done")[-1]["item"]
    assert echoed["type"] == "function_call_output" and echoed["call_id"] == item["call_id"]
    await client.send({"type": "response.create"})
    second = (await client.until("response.done", count=2))["response"]
    assert second["status"] == "completed"
    (message,) = second["output"]
    assert message["content"][0]["transcript"] == "The tool said: sunny, 21 degrees."
    assert client.sink.of("response.output_audio.delta")  # the answer is spoken
    continued = client.rig.responder.turns[1]
    assert continued.text == "what is the weather in Paris"
    assert continued.continuation == (
        ChatMessage("assistant", "", tool_calls=(ToolCall(item["call_id"], *_called(item)),)),
        ChatMessage("tool", "sunny, 21 degrees", tool_call_id=item["call_id"]),
    )


def _called(item: dict[str, Any]) -> tuple[str, str]:
    return item["name"], item["arguments"]


async def test_words_before_the_call_are_a_message_then_the_call(settings: Settings) -> None:
    client = await with_tools(settings)
    client.rig.responder.preface = "Let me check."
    done = await called(client, "what is the weather in Paris")
    message, call = done["output"]
    assert message["type"] == "message" and message["content"][0]["transcript"] == "Let me check."
    assert call["type"] == "function_call"
    added = client.sink.of("response.output_item.added")
    assert [a["output_index"] for a in added] == [0, 1]
    types = client.sink.types()
    message_done = types.index("response.output_item.done")
    assert message_done < types.index("response.function_call_arguments.delta")


async def test_bad_outputs_are_refused_and_change_nothing(settings: Settings) -> None:
    client = await with_tools(settings)
    orphan = await client.refused(output("call_nope", "x"))
    assert (orphan.code, orphan.param) == ("invalid_input", "item.call_id")
    done = await called(client, "what is the weather in Paris")
    call_id = done["output"][0]["call_id"]
    unknown = await client.refused(output("call_other", "x"))
    assert (unknown.code, unknown.param) == ("invalid_input", "item.call_id")
    too_long = await client.refused(output(call_id, "x" * (MAX_OUTPUT + 1)))
    assert (too_long.code, too_long.param) == ("invalid_input", "item.output")
    early = await client.refused({"type": "response.create"})
    assert early.code == "input_missing" and call_id in early.message
    await client.send(output(call_id, "rain"))
    twice = await client.refused(output(call_id, "snow"))
    assert twice.code == "invalid_input"
    await client.send({"type": "response.create"})
    answer = (await client.until("response.done", count=2))["response"]
    assert answer["output"][0]["content"][0]["transcript"] == "The tool said: rain."
    after = await client.refused(output(call_id, "late"))  # answered: nothing waits
    assert after.code == "invalid_input"


async def test_malformed_tools_are_refused_and_the_session_is_unchanged(
    settings: Settings,
) -> None:
    client = await with_tools(settings)
    for session, param in [
        ({"tools": [WEATHER, WEATHER]}, "session.tools"),
        ({"tool_choice": {"type": "function", "name": "get_time"}}, "session.tool_choice"),
        ({"tool_choice": {"type": "mcp", "server_label": "ha"}}, "session.tool_choice"),
        ({"tools": [WEATHER | {"name": "x" * 65}]}, "session.tools.0.name"),
        ({"tools": [WEATHER | {"description": 7}]}, "session.tools.0.description"),
        ({"tools": [WEATHER] * 129}, "session.tools"),
    ]:
        refusal = await client.refused({"type": "session.update", "session": session})
        assert refusal.code == "invalid_value", session
        assert (refusal.param or "").startswith(param), (session, refusal.param)
    assert [tool.name for tool in client.rig.session.options.client_tools] == ["get_weather"]


async def test_tool_choice_none_answers_without_calling(settings: Settings) -> None:
    client = await with_tools(settings, tool_choice="none")
    await client.say("what is the weather in Paris")
    await client.send({"type": "response.create"})
    done = (await client.until("response.done"))["response"]
    assert done["output"][0]["type"] == "message"
    assert client.rig.responder.turns[0].client_tools == ()


async def test_the_client_s_own_call_and_output_continue_its_user_text(
    settings: Settings,
) -> None:
    client = await with_tools(settings)
    await client.say("what is the weather in Paris")
    call = {"type": "function_call", "call_id": "call_mine", "name": "get_weather"}
    await client.send({"type": "conversation.item.create", "item": call | {"arguments": "{}"}})
    await client.send(output("call_mine", "foggy"))
    await client.send({"type": "response.create"})
    done = (await client.until("response.done"))["response"]
    assert done["output"][0]["content"][0]["transcript"] == "The tool said: foggy."
    turn = client.rig.responder.turns[0]
    assert turn.text == "what is the weather in Paris"
    assert [m.role for m in turn.continuation] == ["assistant", "tool"]
    assert turn.continuation[0].tool_calls == (ToolCall("call_mine", "get_weather", "{}"),)
    added = [m["item"]["type"] for m in client.sink.of("conversation.item.added")]
    assert added[:3] == ["message", "function_call", "function_call_output"]


async def test_a_new_user_message_leaves_waiting_calls_behind(settings: Settings) -> None:
    client = await with_tools(settings, tool_choice="auto")
    done = await called(client, "what is the weather in Paris")
    call_id = done["output"][0]["call_id"]
    await client.send({"type": "session.update", "session": {"tool_choice": "none"}})
    await client.say("never mind, tell me a joke")
    await client.send({"type": "response.create"})
    await client.until("response.done", count=2)
    assert client.rig.responder.turns[1].continuation == ()
    assert client.rig.responder.turns[1].text == "never mind, tell me a joke"
    assert (await client.refused(output(call_id, "sunny"))).code == "invalid_input"


async def test_user_text_added_with_the_outputs_follows_the_results(
    settings: Settings,
) -> None:
    client = await with_tools(settings)
    done = await called(client, "what is the weather in Paris")
    call_id = done["output"][0]["call_id"]
    await client.send(output(call_id, "sunny"))
    await client.say("and should I take an umbrella")
    await client.send({"type": "response.create"})
    await client.until("response.done", count=2)
    turn = client.rig.responder.turns[1]
    assert turn.text == "what is the weather in Paris"
    assert [m.role for m in turn.continuation] == ["assistant", "tool", "user"]
    assert turn.continuation[-1].content == "and should I take an umbrella"


async def test_rounds_of_calls_are_bounded(settings: Settings) -> None:
    client = await with_tools(settings)
    client.rig.responder.always_call = True
    done = await called(client, "what is the weather in Paris")
    for round_ in range(1, MAX_ROUNDS):
        await client.send(output(done["output"][0]["call_id"], f"result {round_}"))
        await client.send({"type": "response.create"})
        done = (await client.until("response.done", count=round_ + 1))["response"]
        assert done["output"][0]["type"] == "function_call"
    await client.send(output(done["output"][0]["call_id"], "last result"))
    await client.send({"type": "response.create"})
    final = (await client.until("response.done", count=MAX_ROUNDS + 1))["response"]
    assert final["output"][0]["type"] == "message"  # the model had to answer
    last = client.rig.responder.turns[-1]
    assert last.client_tools == ()
    assert sum(1 for m in last.continuation if m.role == "tool") == MAX_ROUNDS


async def test_a_spoken_question_calls_with_its_transcript(settings: Settings) -> None:
    client = await with_tools(settings)
    client.rig.transcriber.texts = ["what is the weather in Oslo"]
    await client.feed(0.6, loud=True)
    await client.feed(0.6, loud=False)
    done = (await client.until("response.done"))["response"]
    call = done["output"][0]
    assert json.loads(call["arguments"]) == {"query": "what is the weather in Oslo"}
    await client.send(output(call["call_id"], "windy"))
    await client.send({"type": "response.create"})
    answer = (await client.until("response.done", count=2))["response"]
    assert answer["output"][0]["content"][0]["transcript"] == "The tool said: windy."


async def test_the_beta_dialect_renders_the_same_round_trip(settings: Settings) -> None:
    client = await with_tools(settings, dialect="beta", tool_choice="get_weather")
    session = client.sink.of("session.updated")[-1]["session"]
    assert session["tool_choice"] == "get_weather" and session["tools"][0]["name"] == "get_weather"
    done = await called(client, "what is the weather in Paris")
    call_id = done["output"][0]["call_id"]
    assert client.sink.of("conversation.item.created")
    await client.send(output(call_id, "hail"))
    await client.send({"type": "response.create"})
    answer = (await client.until("response.done", count=2))["response"]
    assert answer["output"][0]["content"][0]["transcript"] == "The tool said: hail."
