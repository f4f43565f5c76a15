"""The client's functions on fake ports: a reply that calls them ends with
``FunctionCallsRequested`` (nothing spoken), and a continuation turn answers with the
results. Virtual time, milliseconds."""

from __future__ import annotations

from ballsy.llm.base import ChatMessage, ToolSpec
from ballsy.realtime.session.events import (
    FunctionCallsRequested,
    ReplyAudio,
    ReplyDelta,
    SpeculationEnded,
    TurnEnded,
)
from ballsy.realtime.session.options import SessionOptions
from ballsy.speech.vad import TurnConfig
from tests.realtime.session.fakes import (
    FakeResponder,
    Rig,
    rig,
    silence,
    tone,
)

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"query": {"type": "string"}}},
)
VAD = TurnConfig(silence_ms=400, min_speech_ms=100, prefix_padding_ms=100)


def with_tools(**changes: object) -> Rig:
    options = SessionOptions(vad=VAD, client_tools=(WEATHER,), **changes)  # type: ignore[arg-type]
    return rig(options=options)


async def test_a_reply_that_calls_a_client_function_ends_without_speaking() -> None:
    r = with_tools()
    turn_id = r.session.submit_text("what is the weather in Paris")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded)
    assert ended.turn_id == turn_id and ended.status == "completed" and ended.responded
    (requested,) = r.of(FunctionCallsRequested)
    assert requested.turn_id == turn_id
    assert requested.user_text == "what is the weather in Paris"
    assert requested.continuation == ()
    (call,) = requested.calls
    assert call.name == "get_weather"
    assert call.arguments == '{"query": "what is the weather in Paris"}'
    assert not r.of(ReplyAudio) and not r.synthesizer.sentences
    kinds = [type(event) for event in r.collect()]
    assert kinds.index(FunctionCallsRequested) < kinds.index(TurnEnded)
    assert r.responder.turns[0].client_tools == (WEATHER,)


async def test_the_continuation_answers_with_the_results() -> None:
    r = with_tools()
    r.session.submit_text("what is the weather in Paris")
    await r.until(TurnEnded)
    (requested,) = r.of(FunctionCallsRequested)
    continuation = (
        ChatMessage("assistant", "", tool_calls=requested.calls),
        ChatMessage("tool", "sunny, 21 degrees", tool_call_id=requested.calls[0].id),
    )
    r.session.submit_text(requested.user_text, continuation=continuation)
    ended = await r.until(TurnEnded, count=2)
    assert isinstance(ended, TurnEnded) and ended.status == "completed"
    assert ended.text == "The tool said: sunny, 21 degrees."
    assert r.of(ReplyAudio)  # this one is spoken
    assert len(r.of(FunctionCallsRequested)) == 1
    second = r.responder.turns[1]
    assert second.text == "what is the weather in Paris"
    assert second.continuation == continuation and second.client_tools == (WEATHER,)
    assert [stored.heard for stored in r.responder.stored] == ["", ended.text]
    assert r.limiter.admitted == ["ada", "ada"]  # a continuation counts as a turn


async def test_text_before_the_calls_is_spoken_and_the_calls_come_after_it() -> None:
    r = with_tools()
    r.responder.preface = "Let me check that."
    r.session.submit_text("what is the weather in Paris")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.text == "Let me check that."
    events = r.collect()
    last_audio = max(i for i, e in enumerate(events) if isinstance(e, ReplyAudio))
    calls_at = next(i for i, e in enumerate(events) if isinstance(e, FunctionCallsRequested))
    assert last_audio < calls_at < events.index(ended)


async def test_tools_can_be_withheld_for_one_turn_and_are_off_by_default() -> None:
    r = with_tools()
    r.session.submit_text("what is the weather in Paris", tools=())
    await r.until(TurnEnded)
    assert not r.of(FunctionCallsRequested) and r.responder.turns[0].client_tools == ()
    plain = rig(responder=FakeResponder())
    plain.session.submit_text("what is the weather in Paris")
    await plain.until(TurnEnded)
    assert not plain.of(FunctionCallsRequested) and plain.responder.turns[0].client_tools == ()


async def test_a_spoken_turn_calls_with_its_transcript_as_the_user_text() -> None:
    r = with_tools()
    r.transcriber.texts = ["what is the weather in Oslo"]
    await r.feed(tone(1.0))
    await r.feed(silence(0.6))
    await r.until(TurnEnded)
    (requested,) = r.of(FunctionCallsRequested)
    assert requested.user_text == "what is the weather in Oslo"
    assert r.of(SpeculationEnded)[0].used  # answered by the speculative reply, released
    assert not r.of(ReplyAudio)


async def test_a_wrong_guess_that_called_a_function_sends_nothing() -> None:
    r = with_tools()
    r.transcriber.texts = ["what is the weather", "what is the weather in Rome"]
    await r.feed(tone(0.8))
    await r.feed(silence(0.3))  # a guess: the held reply calls the function
    await r.feed(tone(0.8))  # the user speaks on: the guess was wrong
    await r.feed(silence(0.6))
    await r.until(TurnEnded)
    requested = r.of(FunctionCallsRequested)
    assert [event.user_text for event in requested] == ["what is the weather in Rome"]
    assert r.responder.turns[0].text == "what is the weather"  # the guess was answered
    assert not r.of(ReplyDelta)


async def test_announcements_never_call_functions() -> None:
    r = with_tools()
    r.session.announce("Your pasta timer is done.", kind="timer")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.text == "Your pasta timer is done."
    assert not r.of(FunctionCallsRequested) and not r.responder.turns
