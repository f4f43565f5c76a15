"""The assistant as a conversation agent: ``transcript`` → ``handled``, streamed."""

from __future__ import annotations

import httpx
from wyoming.asr import Transcript
from wyoming.handle import Handled, HandledChunk

from tests.fake_openai import REPLY
from tests.wyoming.conftest import USER, BallsyProcess, read_until


async def handle(server: BallsyProcess, text: str, context: dict | None = None) -> list:
    async with server.client() as client:
        await client.write_event(Transcript(text=text, context=context, language="en").event())
        return await read_until(client, "handled-stop", "not-handled")


async def test_a_skill_answers_twelve_times_seven(server: BallsyProcess) -> None:
    events = await handle(server, "what is twelve times seven", {"conversation_id": "c-1"})
    types = [event.type for event in events]
    assert types[0] == "handled-start" and types[-2:] == ["handled", "handled-stop"]
    assert set(types[1:-2]) == {"handled-chunk"}
    handled = Handled.from_event(events[-2])
    assert "84" in (handled.text or "")
    assert handled.context == {"conversation_id": "c-1"}
    streamed = "".join(HandledChunk.from_event(e).text for e in events if e.type == "handled-chunk")
    assert streamed.strip() == handled.text


async def test_an_llm_question_is_answered_and_stored_for_the_user(
    server: BallsyProcess,
) -> None:
    question = "Tell me something funny about farmers."
    events = await handle(server, question)
    handled = Handled.from_event(events[-2])
    assert handled.text == REPLY
    assert len([e for e in events if e.type == "handled-chunk"]) > 3  # token by token

    async with httpx.AsyncClient(base_url=server.url) as http:
        page = (await http.get("/api/history", params={"client_id": USER, "limit": 50})).json()
    turns = {(item["text"], item["reply"]) for item in page["items"]}
    assert (question, REPLY) in turns
    stored = next(item for item in page["items"] if item["text"] == question)
    assert stored["handled_by"]["kind"] == "llm" and stored["source"] == "voice"
    assert any("84" in reply for _, reply in turns)  # the skill's turn, same user


async def test_memory_carries_between_turns(server: BallsyProcess, fake_llm: tuple) -> None:
    _, fake = fake_llm
    await handle(server, "I have a grey cat called Mochi.")
    before = len(fake.requests)
    await handle(server, "Tell me again what you know about my pets.")
    prompt = fake.requests[before]["messages"]
    assert any("Mochi" in str(message.get("content")) for message in prompt)
