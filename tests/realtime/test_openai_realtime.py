"""``/v1/realtime`` with the official ``openai`` SDK as the client (GA and beta APIs).

A real server with the embedded models; questions are spoken by Ballsy's own TTS,
resampled to 24 kHz and streamed at real time; every server event is validated
against the SDK's own models (tests/realtime/sdk_log.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import openai
import pytest
import websockets

from tests.conftest import make_settings
from tests.live import live_app
from tests.realtime.conftest import speak
from tests.realtime.sdk_log import SCHEMAS, EventLog, audio_of

Served = tuple[str, Any]
GA_MODEL, BETA_MODEL = "gpt-realtime", "gpt-4o-realtime-preview"
PCM = {"type": "audio/pcm", "rate": 24000}
PLUS = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "what is twelve plus seven"}],
}
STORY = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "tell me a long story about a dragon"}],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = make_settings(tmp_path_factory.mktemp("openai-rt"), preload_models=True)
    with live_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
def speech(served: Served) -> dict[str, bytes]:
    """Spoken questions: 24 kHz PCM16 with 1 s of silence after."""
    tts = served[1].state.services.speech
    texts = {
        "plus": "What is twelve plus seven?",
        "times": "What is six times four?",
        "story": "Tell me a long story about a dragon.",
        "stop": "Stop, please wait.",
    }
    return {name: speak(tts, text, rate=24000) for name, text in texts.items()}


@asynccontextmanager
async def talk(url: str, client_id: str, dialect: str = "ga") -> AsyncIterator[EventLog]:
    """An SDK connection (GA: ``client.realtime``; beta: ``client.beta.realtime``)."""
    query = {"client_id": client_id}
    if dialect == "ga":  # the SDK derives ws://…/v1/realtime from base_url
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="not-needed")
        manager: Any = client.realtime.connect(model=GA_MODEL, extra_query=query)
    else:  # the beta connector always uses wss:// unless websocket_base_url is given
        ws_url = url.replace("http", "ws", 1) + "/v1"
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", websocket_base_url=ws_url)
        manager = client.beta.realtime.connect(model=BETA_MODEL, extra_query=query)
    async with manager as connection, EventLog.attach(connection, dialect) as log:
        created = await log.wait_for("session.created")
        assert created.session.model == (GA_MODEL if dialect == "ga" else BETA_MODEL)
        yield log


async def history(url: str, client_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/api/history", params={"client_id": client_id})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def in_order(log: EventLog, since: int, *kinds: str) -> None:
    positions = [log.index(log.of(kind, since=since)[0]) for kind in kinds]
    assert positions == sorted(positions), list(zip(kinds, positions, strict=True))


async def spoken_turn(log: EventLog, pcm: bytes, names: dict[str, str]) -> tuple[int, Any]:
    """Stream ``pcm`` with server VAD; check the input side; return (since, response.done)."""
    since = len(log.events)
    await log.stream(pcm)
    stopped = await log.wait_for("input_audio_buffer.speech_stopped", since=since)
    started = log.of("input_audio_buffer.speech_started", since=since)[0]
    assert started.item_id == stopped.item_id and stopped.audio_end_ms > started.audio_start_ms
    committed = await log.wait_for("input_audio_buffer.committed", since=since)
    assert committed.item_id == stopped.item_id
    user = await log.wait_for(names["item"], since=since, where=lambda e: e.item.role == "user")
    assert user.item.id == committed.item_id
    heard = "conversation.item.input_audio_transcription.completed"
    transcript = await log.wait_for(heard, since=since)
    assert transcript.item_id == committed.item_id
    done = await log.wait_for("response.done", since=since, within=60)
    assert done.response.status == "completed" and done.response.usage is not None
    pcm_out = audio_of(log.of(names["audio"], since=since))
    assert len(pcm_out) > 24_000 and len(pcm_out) % 2 == 0 and any(pcm_out)  # > 0.5 s
    in_order(log, since, "response.created", names["audio"], names["transcript"], "response.done")
    return since, done


GA_NAMES = {
    "item": "conversation.item.added",
    "audio": "response.output_audio.delta",
    "transcript": "response.output_audio_transcript.done",
}
BETA_NAMES = {
    "item": "conversation.item.created",
    "audio": "response.audio.delta",
    "transcript": "response.audio_transcript.done",
}


async def test_ga_sdk_holds_a_spoken_multi_turn_conversation(
    served: Served, speech: dict[str, bytes]
) -> None:
    url, _ = served
    async with talk(url, "oai-ga-spoken") as log:
        vad = {"type": "server_vad", "silence_duration_ms": 500, "create_response": True}
        audio_in = {"format": PCM, "transcription": {"model": "whisper-1"}, "turn_detection": vad}
        audio = {"input": audio_in, "output": {"format": PCM, "voice": "alloy"}}
        await log.connection.session.update(session={"type": "realtime", "audio": audio})
        updated = await log.wait_for("session.updated")
        assert updated.session.audio.input.turn_detection.silence_duration_ms == 500
        assert updated.session.audio.output.voice == "alloy"
        for question, answer in (("plus", "19"), ("times", "24")):
            since, done = await spoken_turn(log, speech[question], GA_NAMES)
            heard = log.of("conversation.item.input_audio_transcription.completed", since=since)
            assert answer == "19" or "6" in heard[0].transcript
            said = log.of("response.output_audio_transcript.done", since=since)[0].transcript
            assert answer in said and done.response.output[0].content[0].transcript == said
            assert log.of("conversation.item.done", since=since)
        assert not log.of("response.audio.delta") and not log.of("conversation.item.created")
    turns = await history(url, "oai-ga-spoken")
    assert [t["source"] for t in turns] == ["voice", "voice"]
    assert "24" in turns[0]["reply"] and "19" in turns[1]["reply"]


async def test_beta_sdk_spoken_turn_uses_beta_event_names(
    served: Served, speech: dict[str, bytes]
) -> None:
    url, app = served
    voice = app.state.services.speech.tts_voices()[0]
    async with talk(url, "oai-beta-spoken", "beta") as log:
        vad = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300}
        session = {
            "modalities": ["text", "audio"],
            "voice": voice,
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1"},
            "turn_detection": vad | {"silence_duration_ms": 500, "interrupt_response": True},
        }
        await log.connection.session.update(session=session)
        updated = await log.wait_for("session.updated")
        assert updated.session.voice == voice and updated.session.input_audio_format == "pcm16"
        since, _ = await spoken_turn(log, speech["plus"], BETA_NAMES)
        said = log.of("response.audio_transcript.done", since=since)[0].transcript
        assert "19" in said
        ga_only = (
            "response.output_audio.delta",
            "conversation.item.added",
            "conversation.item.done",
        )
        assert not any(log.of(kind) for kind in ga_only)


async def test_typed_turns_text_only_and_assistant_context(served: Served) -> None:
    url, _ = served
    async with talk(url, "oai-text") as log:
        conn = log.connection
        await conn.conversation.item.create(item=PLUS)
        await conn.response.create(response={"output_modalities": ["text"]})
        done = await log.wait_for("response.done")
        assert done.response.status == "completed"
        assert done.response.output_modalities == ["text"]
        assert "19" in log.of("response.output_text.done")[0].text
        assert log.of("response.output_text.delta") and not log.of("response.output_audio.delta")
        context = [{"type": "output_text", "text": "Noted."}]
        await conn.conversation.item.create(
            item={"type": "message", "role": "assistant", "content": context}
        )
        added = await log.wait_for(
            "conversation.item.added",
            where=lambda e: e.item.role == "assistant" and e.item.status == "completed",
        )
        assert added.item.content[0].text == "Noted."
        since = len(log.events)
        times = [{"type": "input_text", "text": "what is six times four"}]
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": times}
        )
        await conn.response.create()
        await log.wait_for("response.done", since=since)
        assert "24" in log.of("response.output_audio_transcript.done", since=since)[0].transcript
        assert audio_of(log.of("response.output_audio.delta", since=since))


async def test_manual_turn_taking(served: Served, speech: dict[str, bytes]) -> None:
    url, _ = served
    async with talk(url, "oai-manual", "beta") as log:
        conn = log.connection
        await conn.session.update(session={"turn_detection": None})
        updated = await log.wait_for("session.updated")
        assert updated.session.turn_detection is None
        # At a microphone's pace: audio far ahead of real time is dropped (audio_overrun).
        await log.stream(speech["plus"])
        await conn.input_audio_buffer.commit()
        # Asked before the transcript exists: the response waits for it.
        await conn.response.create(response={"instructions": "Answer in one sentence."})
        committed = await log.wait_for("input_audio_buffer.committed")
        transcript = await log.wait_for("conversation.item.input_audio_transcription.completed")
        assert transcript.item_id == committed.item_id and "12" in transcript.transcript
        done = await log.wait_for("response.done")
        assert done.response.status == "completed"
        assert "19" in log.of("response.audio_transcript.done")[0].transcript
        assert not log.of("input_audio_buffer.speech_started")
        await conn.input_audio_buffer.commit()
        error = await log.wait_for("error")
        assert error.error.code == "input_audio_buffer_commit_empty"
        await conn.input_audio_buffer.clear()
        await log.wait_for("input_audio_buffer.cleared")


async def test_response_cancel_stops_the_reply_at_once(served: Served) -> None:
    url, _ = served
    async with talk(url, "oai-cancel") as log:
        await log.connection.conversation.item.create(item=STORY)
        await log.connection.response.create()
        first = await log.wait_for("response.output_audio.delta", within=60)
        await log.connection.response.cancel()
        done = await log.wait_for("response.done", within=2)
        assert done.response.id == first.response_id
        assert done.response.status == "cancelled"
        assert done.response.status_details.reason == "client_cancelled"
        await asyncio.sleep(1.0)
        after = log.events[log.index(done) :]
        assert not [e for e in after if e.type == "response.output_audio.delta"]
        await log.connection.response.cancel()
        assert (await log.wait_for("error")).error.code == "response_cancel_not_active"
    turns = await history(url, "oai-cancel")
    assert turns[0]["interrupted"] is True
    said = done.response.output[0].content[0].transcript
    assert len(turns[0]["reply"]) < len(said)


async def test_barge_in_cancels_the_response(served: Served, speech: dict[str, bytes]) -> None:
    url, _ = served
    async with talk(url, "oai-barge") as log:
        await log.stream(speech["story"])
        first = await log.wait_for("response.output_audio.delta", within=60)
        since = len(log.events)
        await log.stream(speech["stop"])
        started = await log.wait_for("input_audio_buffer.speech_started", since=since)
        done = await log.wait_for(
            "response.done", where=lambda e: e.response.id == first.response_id
        )
        assert done.response.status == "cancelled"
        assert done.response.status_details.reason == "turn_detected"
        assert log.index(started) < log.index(done)
        late = log.events[log.index(done) :]
        assert not [e for e in late if getattr(e, "response_id", None) == first.response_id]


async def test_truncate_stores_what_was_heard(served: Served) -> None:
    url, _ = served
    async with talk(url, "oai-truncate") as log:
        conn = log.connection
        await conn.conversation.item.create(item=PLUS)
        await conn.response.create()
        done = await log.wait_for("response.done")
        item = done.response.output[0]
        full = item.content[0].transcript
        heard_ms = len(audio_of(log.of("response.output_audio.delta"))) // 48
        assert heard_ms > 1000 and "19" in full
        await conn.conversation.item.truncate(item_id=item.id, content_index=0, audio_end_ms=800)
        truncated = await log.wait_for("conversation.item.truncated")
        assert truncated.item_id == item.id and truncated.audio_end_ms == 800
        await conn.conversation.item.truncate(item_id="item_nope", content_index=0, audio_end_ms=1)
        error = await log.wait_for("error")
        assert error.error.code == "item_truncate_invalid_item_id"
        late = heard_ms + 5000
        await conn.conversation.item.truncate(item_id=item.id, content_index=0, audio_end_ms=late)
        assert (await log.wait_for("error", since=log.index(error) + 1)).error.param
    turn = (await history(url, "oai-truncate"))[0]
    assert turn["interrupted"] is True and "19" not in turn["reply"]
    assert turn["reply"] and full.startswith(turn["reply"])


async def test_truncate_while_the_reply_plays_stops_it(served: Served) -> None:
    url, _ = served
    async with talk(url, "oai-truncate-live") as log:
        await log.connection.conversation.item.create(item=STORY)
        await log.connection.response.create()
        first = await log.wait_for("response.output_audio.delta", within=60)
        await log.connection.conversation.item.truncate(
            item_id=first.item_id, content_index=0, audio_end_ms=200
        )
        done = await log.wait_for("response.done")
        assert done.response.status == "cancelled"
        assert done.response.status_details.reason == "client_cancelled"
        truncated = await log.wait_for("conversation.item.truncated")
        assert truncated.item_id == first.item_id and log.index(done) < log.index(truncated)
        full = done.response.output[0].content[0].transcript
    turn = (await history(url, "oai-truncate-live"))[0]
    assert turn["interrupted"] is True and len(turn["reply"]) < len(full)


async def test_bad_input_gets_error_events_and_the_connection_survives(served: Served) -> None:
    url, _ = served
    ws_url = url.replace("http", "ws", 1) + f"/v1/realtime?model={GA_MODEL}&client_id=oai-bad"
    schema = SCHEMAS["ga"]
    async with websockets.connect(ws_url) as ws:

        async def next_of(kind: str) -> dict[str, Any]:
            while True:
                raw = await asyncio.wait_for(ws.recv(), 30)
                schema.validate_json(raw)
                event: dict[str, Any] = json.loads(raw)
                if event["type"] == kind:
                    return event

        async def refused(message: str | bytes | dict[str, Any]) -> dict[str, Any]:
            await ws.send(json.dumps(message) if isinstance(message, dict) else message)
            error: dict[str, Any] = (await next_of("error"))["error"]
            return error

        await next_of("session.created")
        assert (await refused("{not json"))["code"] == "invalid_json"
        unknown = await refused({"type": "no.such.event", "event_id": "evt_1"})
        assert unknown["code"] == "unknown_event" and unknown["event_id"] == "evt_1"
        assert (await refused(json.dumps([1, 2])))["code"] == "invalid_event"
        assert (await refused(b"\x00\x01"))["code"] == "invalid_event"
        bad_b64 = await refused({"type": "input_audio_buffer.append", "audio": "***"})
        assert bad_b64["code"] == "invalid_value" and bad_b64["param"] == "audio"
        odd = base64.b64encode(b"\x00").decode()
        assert (await refused({"type": "input_audio_buffer.append", "audio": odd}))["code"]
        ulaw = await refused(
            {"type": "session.update", "session": {"input_audio_format": "g711_ulaw"}}
        )
        assert ulaw["code"] == "invalid_value" and ulaw["param"] == "session.input_audio_format"
        rate = {
            "type": "realtime",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
        }
        wrong = await refused({"type": "session.update", "session": rate})
        assert wrong["param"] == "session.audio.input.format"
        voice = await refused({"type": "session.update", "session": {"voice": "nobody"}})
        assert voice["param"] == "session.voice"
        assert (await refused({"type": "response.create"}))["code"] == "input_missing"
        await ws.send(json.dumps({"type": "conversation.item.create", "item": PLUS}))
        await ws.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
        )
        done = await next_of("response.done")
        assert done["response"]["status"] == "completed"
        assert "19" in done["response"]["output"][0]["content"][0]["text"]


async def test_an_oversized_item_is_refused_and_absent_from_history(served: Served) -> None:
    url, _ = served
    huge = "tell me about dragons " * 1000  # ~22,000 characters
    async with talk(url, "oai-huge") as log:
        conn = log.connection
        for role, kind in (("user", "input_text"), ("assistant", "output_text")):
            content = [{"type": kind, "text": huge}]
            since = len(log.events)
            await conn.conversation.item.create(
                item={"type": "message", "role": role, "content": content}
            )
            error = await log.wait_for("error", since=since)
            assert error.error.code == "invalid_input" and error.error.param == "item.content"
        since = len(log.events)
        await conn.response.create()
        assert (await log.wait_for("error", since=since)).error.code == "input_missing"
        assert not log.of("conversation.item.added")
        await conn.conversation.item.create(item=PLUS)
        await conn.response.create(response={"output_modalities": ["text"]})
        assert (await log.wait_for("response.done")).response.status == "completed"
    turns = await history(url, "oai-huge")
    assert [t["text"] for t in turns] == ["what is twelve plus seven"]
    assert not any("dragons" in t["text"] + t["reply"] for t in turns)


async def test_semantic_vad_ends_a_spoken_turn_by_its_meaning(
    served: Served, speech: dict[str, bytes]
) -> None:
    url, _ = served
    async with talk(url, "oai-semantic") as log:
        vad = {"type": "semantic_vad", "eagerness": "high", "create_response": True}
        audio_in = {"format": PCM, "transcription": {"model": "whisper-1"}, "turn_detection": vad}
        audio = {"input": audio_in, "output": {"format": PCM, "voice": "alloy"}}
        await log.connection.session.update(session={"type": "realtime", "audio": audio})
        updated = await log.wait_for("session.updated")
        detection = updated.session.audio.input.turn_detection
        assert detection.type == "semantic_vad" and detection.eagerness == "high"
        since, done = await spoken_turn(log, speech["plus"], GA_NAMES)
        said = log.of("response.output_audio_transcript.done", since=since)[0].transcript
        assert "19" in said and done.response.status == "completed"
    turns = await history(url, "oai-semantic")
    assert turns[0]["timings"]["turn_decision_ms"] > 0  # the end-of-turn model decided
