"""Client events parsed into the protocol's union, and what a refusal says."""

from __future__ import annotations

import base64
import json

import pytest

from ballsy.realtime.wire.openai.protocol import (
    AudioAppendEvent,
    ClientEventError,
    ItemCreateEvent,
    ResponseCreateEvent,
    parse_client_event,
)

TEXT = [{"type": "input_text", "text": "hello"}]


def refusal(body: object) -> ClientEventError:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(ClientEventError) as refused:
        parse_client_event(text)
    return refused.value


def test_events_parse_into_their_types() -> None:
    pcm = base64.b64encode(b"\x01\x00\x02\x00").decode()
    append = parse_client_event(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))
    assert isinstance(append, AudioAppendEvent) and append.audio == b"\x01\x00\x02\x00"
    item = parse_client_event(
        json.dumps(
            {
                "type": "conversation.item.create",
                "event_id": "evt_9",
                "item": {"role": "assistant", "content": [{"type": "audio", "transcript": "hi"}]},
            }
        )
    )
    assert isinstance(item, ItemCreateEvent) and item.event_id == "evt_9"
    assert (item.item.role, item.item.text) == ("assistant", "hi")
    beta = parse_client_event(
        json.dumps({"type": "response.create", "response": {"modalities": ["text"]}})
    )
    assert isinstance(beta, ResponseCreateEvent) and beta.response is not None
    assert beta.response.audio is False


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (None, "invalid_event", None),
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_event", None),
        ({"type": "no.such.event"}, "unknown_event", None),
        ({"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
        ({"type": "input_audio_buffer.append", "audio": "***"}, "invalid_value", "audio"),
        ({"type": "input_audio_buffer.append", "audio": "AA=="}, "invalid_value", "audio"),
        ({"type": "session.update"}, "missing_required_parameter", "session"),
        ({"type": "session.update", "session": []}, "invalid_value", "session"),
        (
            {"type": "conversation.item.create", "item": {"type": "mcp_call", "role": "user"}},
            "unsupported_item",
            "item.type",
        ),
        (
            {"type": "conversation.item.create", "item": {"type": "function_call", "role": "user"}},
            "missing_required_parameter",
            "item.name",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call", "name": "f", "arguments": "{not json"},
            },
            "invalid_value",
            "item.arguments",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call", "name": "rm -rf", "arguments": "{}"},
            },
            "invalid_value",
            "item.name",
        ),
        (
            {"type": "conversation.item.create", "item": {"type": "function_call_output"}},
            "missing_required_parameter",
            "item.call_id",
        ),
        (
            {"type": "session.update", "session": {"tools": [{"type": "mcp", "name": "ha"}]}},
            "invalid_value",
            "session.tools.0.type",
        ),
        (
            {"type": "session.update", "session": {"tools": [{"type": "function"}]}},
            "missing_required_parameter",
            "session.tools.0.name",
        ),
        (
            {
                "type": "session.update",
                "session": {"tools": [{"name": "f", "parameters": {"type": "string"}}]},
            },
            "invalid_value",
            "session.tools.0.parameters",
        ),
        (
            {"type": "session.update", "session": {"tools": {"name": "f"}}},
            "invalid_value",
            "session.tools",
        ),
        (
            {"type": "conversation.item.create", "item": {"role": "system", "content": TEXT}},
            "unsupported_item",
            "item.role",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"role": "user", "content": [{"type": "input_image"}]},
            },
            "unsupported_content",
            "item.content",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"role": "user", "content": [{"type": "input_text", "text": " "}]},
            },
            "invalid_value",
            "item.content",
        ),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": True},
            "invalid_value",
            "audio_end_ms",
        ),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1},
            "invalid_value",
            "audio_end_ms",
        ),
        (
            {"type": "response.create", "response": {"instructions": 5}},
            "invalid_value",
            "response.instructions",
        ),
        (
            {"type": "response.create", "response": {"output_modalities": ["video"]}},
            "invalid_value",
            "response.output_modalities.0",
        ),
    ],
)
def test_refusals_carry_openai_codes_and_the_param(
    body: object, code: str, param: str | None
) -> None:
    refused = refusal(body) if body is not None else _binary()
    assert (refused.code, refused.param) == (code, param)


def _binary() -> ClientEventError:
    with pytest.raises(ClientEventError) as refused:
        parse_client_event(None)  # a binary frame: no text
    return refused.value


def test_a_refusal_echoes_the_client_event_id() -> None:
    assert refusal({"type": "nope", "event_id": "evt_1"}).event_id == "evt_1"
    bad = refusal({"type": "response.cancel", "event_id": "evt_2", "response_id": 7})
    assert (bad.code, bad.event_id) == ("invalid_value", "evt_2")
