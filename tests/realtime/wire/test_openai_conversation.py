"""The OpenAI Realtime conversation state machine on a real ``VoiceSession`` with fake ports.

No models and no server: client events go through the protocol parser, engine events
are drained from the session's queue as the connection's task would, and every server
event is validated against the official SDK's models.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ballsy.config import Settings
from ballsy.errors import RateLimited
from tests.conftest import make_settings
from tests.realtime.session.fakes import FakeLimiter, FakeResponder, FakeTranscriber
from tests.realtime.wire.conversation_rig import connect, in_order


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, max_command_length=1000)


async def test_typed_turn_renders_one_response_in_order(settings: Settings) -> None:
    client = connect(settings, responder=FakeResponder("Twelve plus seven is nineteen."))
    await client.say("what is twelve plus seven")
    await client.send({"type": "response.create"})
    done = (await client.until("response.done"))["response"]
    assert done["status"] == "completed"
    in_order(
        client.sink,
        "session.created",
        "conversation.item.added",
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_audio_transcript.delta",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    )
    said = client.sink.of("response.output_audio_transcript.done")[0]["transcript"]
    assert said == "Twelve plus seven is nineteen." == done["output"][0]["content"][0]["transcript"]
    assert client.rig.responder.stored[0].text == "what is twelve plus seven"
    assert done["usage"]["input_tokens"] == 3


async def test_a_failed_turn_ends_its_response_and_the_next_is_accepted(
    settings: Settings,
) -> None:
    client = connect(settings, responder=FakeResponder(fail_after=2))
    await client.say("tell me something")
    await client.send({"type": "response.create"})
    failed = (await client.until("response.done"))["response"]
    assert failed["status"] == "failed"
    assert failed["status_details"]["error"]["code"] == "internal_error"
    client.rig.responder.fail_after = None
    await client.say("and again")
    await client.send({"type": "response.create"})
    assert (await client.until("response.done", count=2))["response"]["status"] == "completed"


async def test_a_refused_turn_fails_before_it_starts_and_does_not_block(
    settings: Settings,
) -> None:
    client = connect(settings, limiter=FakeLimiter(allow=0))
    await client.say("hello")
    await client.send({"type": "response.create"})
    failed = (await client.until("response.done"))["response"]
    assert failed["status"] == "failed" and failed["output"] == []
    assert failed["status_details"]["error"] == {
        "type": "invalid_request_error",
        "code": "rate_limited",
    }
    assert not client.sink.of("response.output_item.added")
    await client.say("hello again")
    await client.send({"type": "response.create"})  # not "already has an active response"
    await client.until("response.done", count=2)


async def test_an_oversized_user_item_is_refused_and_nothing_is_kept(settings: Settings) -> None:
    client = connect(settings)
    big = {"type": "input_text", "text": "a" * 20_000}
    refusal = await client.refused(
        {"type": "conversation.item.create", "item": {"role": "user", "content": [big]}}
    )
    assert (refusal.code, refusal.param) == ("invalid_input", "item.content")
    assert not client.sink.of("conversation.item.added")
    assert (await client.refused({"type": "response.create"})).code == "input_missing"
    assert (await client.refused({"type": "response.create"})).code == "input_missing"
    await client.rig.settle()
    assert not client.rig.responder.stored and not client.rig.responder.remembered


async def test_pending_user_items_are_capped_in_count_and_bytes(settings: Settings) -> None:
    client = connect(settings)
    for index in range(32):
        await client.say(f"note {index}")
    assert (await client.refused_say("one too many")).code == "too_many_pending_items"
    await client.send({"type": "response.create"})  # answering empties the pending input
    await client.until("response.done")
    for _ in range(4):
        await client.say("b" * 1000)  # 4 × MAX_COMMAND_LENGTH bytes
    refusal = await client.refused_say("c")
    assert refusal.code == "pending_input_too_large" and refusal.param == "item.content"


async def test_assistant_items_are_cleaned_capped_remembered_and_count_as_turns(
    settings: Settings,
) -> None:
    client = connect(settings, limiter=FakeLimiter(allow=1))
    assert (await client.refused_say("x" * 1001, role="assistant")).code == "invalid_input"
    await client.say("remember my name")
    await client.say("Noted,\x00 \n  Ada.", role="assistant")
    await client.rig.settle()
    assert client.rig.responder.remembered == [
        ("user", "remember my name"),
        ("assistant", "Noted, Ada."),
    ]
    assert client.rig.limiter.admitted == ["ada"]
    added = client.sink.of("conversation.item.added")[-1]["item"]
    assert added["role"] == "assistant" and added["content"][0]["text"] == "Noted, Ada."
    with pytest.raises(RateLimited):  # the connection answers it as a rate_limited error
        await client.say("Again.", role="assistant")
    await client.rig.settle()
    assert len(client.rig.responder.remembered) == 2


async def test_response_instructions_are_capped_like_the_session_s(settings: Settings) -> None:
    client = connect(settings)
    await client.say("hello")
    too_long = {"type": "response.create", "response": {"instructions": "i" * 16_001}}
    refusal = await client.refused(too_long)
    assert (refusal.code, refusal.param) == ("invalid_value", "response.instructions")
    session_refusal = await client.refused(
        {"type": "session.update", "session": {"instructions": "i" * 16_001}}
    )
    assert session_refusal.param == "session.instructions"
    await client.send({"type": "response.create", "response": {"instructions": "i" * 16_000}})
    await client.until("response.done")


async def test_cancel_stops_the_reply_and_stores_what_was_heard(settings: Settings) -> None:
    story = " ".join(["The dragon flew over the hills."] * 8)
    client = connect(settings, responder=FakeResponder(story))
    await client.say("tell me a story")
    await client.send({"type": "response.create"})
    await client.until("response.output_audio.delta", count=3)
    await client.send({"type": "response.cancel"})
    done = (await client.until("response.done"))["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "client_cancelled"
    stored = client.rig.responder.stored[0]
    assert stored.interrupted and len(stored.heard) < len(story)
    assert (await client.refused({"type": "response.cancel"})).code == "response_cancel_not_active"


async def test_truncate_a_finished_reply_then_one_still_playing(settings: Settings) -> None:
    client = connect(settings, responder=FakeResponder("One two three four five six."))
    await client.say("count")
    await client.send({"type": "response.create"})
    done = (await client.until("response.done"))["response"]
    item_id = done["output"][0]["id"]
    cut = {"type": "conversation.item.truncate", "item_id": item_id, "audio_end_ms": 300}
    await client.send(cut)
    truncated = await client.until("conversation.item.truncated")
    assert truncated["item_id"] == item_id and truncated["audio_end_ms"] == 300
    assert client.rig.responder.amended and client.rig.responder.stored[0].interrupted is False
    nope = await client.refused(cut | {"item_id": "item_nope"})
    assert nope.code == "item_truncate_invalid_item_id"

    await client.say("count again")
    await client.send({"type": "response.create"})
    playing = await client.until("response.output_audio.delta", count=20)
    await client.send(cut | {"item_id": playing["item_id"], "audio_end_ms": 100})
    await client.until("conversation.item.truncated", count=2)
    types = client.sink.types()
    last_done = len(types) - 1 - types[::-1].index("response.done")
    assert last_done < len(types) - 1 - types[::-1].index("conversation.item.truncated")
    cancelled = client.sink.of("response.done")[-1]["response"]
    assert cancelled["status_details"]["reason"] == "client_cancelled"


async def test_manual_commit_then_response_waits_for_the_transcript(settings: Settings) -> None:
    client = connect(settings, transcriber=FakeTranscriber("what is six times four"))
    await client.send({"type": "session.update", "session": {"turn_detection": None}})
    await client.feed(0.6, loud=True)
    await client.send({"type": "input_audio_buffer.commit"})
    await client.send({"type": "response.create"})  # before the transcript exists
    done = (await client.until("response.done"))["response"]
    assert done["status"] == "completed"
    in_order(
        client.sink,
        "input_audio_buffer.committed",
        "response.created",
        "conversation.item.input_audio_transcription.completed",
        "response.output_item.added",
    )
    assert client.rig.responder.stored[0].text == "what is six times four"
    empty = await client.refused({"type": "input_audio_buffer.commit"})
    assert empty.code == "input_audio_buffer_commit_empty"


async def test_a_failed_transcription_fails_the_waiting_response(settings: Settings) -> None:
    client = connect(settings)
    client.rig.transcriber.fail = RuntimeError("ctranslate2 out of memory")
    await client.send({"type": "session.update", "session": {"turn_detection": None}})
    await client.feed(0.4, loud=True)
    await client.send({"type": "input_audio_buffer.commit"})
    await client.send({"type": "response.create"})
    failed = (await client.until("response.done"))["response"]
    assert failed["status"] == "failed"
    client.rig.transcriber.fail = None
    await client.say("hello")
    await client.send({"type": "response.create"})
    assert (await client.until("response.done", count=2))["response"]["status"] == "completed"


async def test_server_vad_answers_speech_and_barge_in_cancels(settings: Settings) -> None:
    story = " ".join(["The dragon slept in its cave."] * 8)
    client = connect(settings, responder=FakeResponder(story))
    await client.feed(0.6, loud=True)
    await client.feed(0.6, loud=False)
    first = await client.until("response.output_audio.delta")
    stopped = client.sink.of("input_audio_buffer.speech_stopped")[0]
    committed = client.sink.of("input_audio_buffer.committed")[0]
    heard = client.sink.of("conversation.item.input_audio_transcription.completed")[0]
    assert stopped["item_id"] == committed["item_id"] == heard["item_id"]
    await client.feed(0.4, loud=True)  # the user speaks over the reply
    done = await client.until("response.done")
    assert done["response"]["id"] == first["response_id"]
    assert done["response"]["status_details"]["reason"] == "turn_detected"
