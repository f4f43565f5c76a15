"""The native voice protocol end to end: a real server, real models, real sockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import Any

import httpx
import pytest
import websockets

from ballsy.testing.voice_client import VoiceClient

Served = tuple[str, Any]


async def read_history(url: str, client_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/api/history", params={"client_id": client_id})
    body: dict[str, Any] = response.json()
    return body


async def test_spoken_question_gets_a_spoken_answer(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-spoken") as client:
        ready = await client.wait_for("ready")
        assert ready.message["input_sample_rate"] == 16000
        assert ready.message["output_sample_rate"] == 24000
        await client.stream(utterances["plus"])
        final = await client.wait_for("transcript", final=True)
        assert "12" in final.message["text"] and "7" in final.message["text"]
        done = await client.wait_for("reply_done")
        assert done.message["status"] == "completed" and "19" in done.message["text"]
        turn = await client.wait_for("turn")
        timings = turn.message["timings"]
        for stage in ("eot_wait_ms", "transcription_ms", "first_audio_ms", "end_to_end_ms"):
            assert timings[stage] > 0, stage
        assert timings["turn_decision_ms"] > 0  # semantic by default: the model decided
        assert client.messages("speech_started") and client.messages("speech_stopped")
        assert sum(len(chunk) for _, chunk, _ in client.audio) > 24000  # > 0.5 s of speech
    history = await read_history(url, "rt-spoken")
    item = history["items"][0]
    assert item["source"] == "voice" and "19" in item["reply"]
    assert item["timings"]["end_to_end_ms"] == timings["end_to_end_ms"]


async def test_fixed_silence_mode_on_request(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-fixed") as client:
        await client.wait_for("ready")
        await client.send({"type": "config", "vad": {"turn_detection": "fixed"}})
        await client.wait_for("config_applied")
        await client.stream(utterances["plus"])
        done = await client.wait_for("reply_done")
        assert done.message["status"] == "completed" and "19" in done.message["text"]
        timings = (await client.wait_for("turn")).message["timings"]
        # Fixed silence: no end-of-turn model run, the full silence waited.
        assert "turn_decision_ms" not in timings and timings["eot_wait_ms"] >= 350


async def test_audio_is_paced_to_playback_time(realtime_server: Served) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-pace") as client:
        await client.wait_for("ready")
        await client.send(
            {
                "type": "text",
                "text": "play relaxing jazz on spotify",
            }
        )
        await client.wait_for("reply_done")
        assert client.audio
        first, last = client.audio[0][0], client.audio[-1][0]
        seconds = sum(len(chunk) for _, chunk, _ in client.audio) / 2 / 24000
        # Sent no faster than real time, less the lead the client buffers.
        assert last - first >= seconds - 0.25 - 0.15 - 0.1


async def test_two_turns_in_one_conversation(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-multi") as client:
        await client.wait_for("ready")
        await client.stream(utterances["plus"])
        first = await client.wait_for("reply_done")
        await client.stream(utterances["times"])
        second = await client.wait_for("reply_done", count=2)
    assert "19" in first.message["text"] and "24" in second.message["text"]


async def test_typed_turn_and_24k_input(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-24k", query="sample_rate=24000") as client:
        ready = await client.wait_for("ready")
        assert ready.message["input_sample_rate"] == 24000
        await client.stream(utterances["plus24k"], sample_rate=24000)
        spoken = await client.wait_for("reply_done")
        await client.send({"type": "text", "text": "what is 2 plus 2"})
        typed = await client.wait_for("reply_done", count=2)
    assert "19" in spoken.message["text"] and "4" in typed.message["text"]


async def test_barge_in_stops_the_reply_and_keeps_what_was_heard(
    realtime_server: Served, utterances: dict[str, bytes], jfk_pcm: bytes
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-barge") as client:
        await client.wait_for("ready")
        await client.stream(utterances["story"])
        await client.wait_for("audio", within=60)
        await asyncio.sleep(1.5)  # let some of the story play
        speaking = asyncio.create_task(client.stream(jfk_pcm))
        started = await client.wait_for("speech_started", count=2)
        interrupted = await client.wait_for("interrupted")
        assert interrupted.at - started.at < 0.5, "barge-in must stop the reply at once"
        done = await client.wait_for("reply_done", status="cancelled")
        await speaking
        cut = interrupted.message["turn_id"]
        frames_after = [
            t for t, _, turn in client.audio if turn == cut and t > interrupted.at + 0.05
        ]
        heard, full = done.message["text"], done.message["full_text"]
        assert heard and len(heard) < len(full)
        assert interrupted.message["played_ms"] > 500
    # Not one frame of the interrupted reply leaves after the interruption.
    assert frames_after == []
    history = await read_history(url, "rt-barge")
    story = next(i for i in history["items"] if "dragon" in i["text"].lower())
    assert story["interrupted"] is True and story["reply"] == heard


async def test_ping_pong_and_server_pings(realtime_server: Served) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-ping") as client:
        await client.wait_for("ready")
        await client.send({"type": "ping", "ts": 42})
        pong = await client.wait_for("pong")
        assert pong.message["ts"] == 42
        await client.wait_for("ping", within=3)  # realtime_ping_interval=1 s here


async def test_idle_socket_is_closed(realtime_server: Served) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-idle") as client:
        await client.wait_for("ready")
        await asyncio.wait_for(client.closed.wait(), 10)
        assert client.ws.close_code == 1000 and client.ws.close_reason == "idle timeout"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        ('["a list"]', "invalid_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "audio", "data": "!!!not base64!!!"}', "invalid_audio"),
        ('{"type": "audio", "data": 42}', "invalid_audio"),
        ('{"type": "text", "text": ""}', "invalid_input"),
        ('{"type": "config", "sample_rate": 44100}', "invalid_input"),
        ('{"type": "config", "speed": 99}', "invalid_config"),
        ('{"type": "config", "voice": "nobody"}', "invalid_config"),
    ],
)
async def test_bad_messages_get_error_codes(
    realtime_server: Served, message: str, code: str
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-bad") as client:
        await client.wait_for("ready")
        await client.ws.send(message)
        error = await client.wait_for("error")
        assert error.message["code"] == code
        await client.send({"type": "ping", "ts": 1})  # the session carries on
        await client.wait_for("pong")


async def test_odd_binary_frame_is_an_error(realtime_server: Served) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-odd") as client:
        await client.wait_for("ready")
        await client.ws.send(b"\x01\x02\x03")
        error = await client.wait_for("error")
        assert error.message["code"] == "invalid_input"


async def test_a_second_of_48k_audio_fits_the_frame_cap_and_more_closes_with_1009(
    realtime_server: Served,
) -> None:
    url, app = realtime_server
    limit = app.state.services.settings.realtime_max_frame_bytes
    assert limit == 128 * 1024, "the default cap: about 1 s of 48 kHz PCM16 as base64 JSON"
    async with VoiceClient.connect(url, "rt-big", query="sample_rate=48000") as client:
        await client.wait_for("ready")
        second = base64.b64encode(b"\0" * 96_000).decode()
        await client.send({"type": "audio", "data": second})
        await client.ws.send(b"\0" * 96_000)
        await client.send({"type": "ping", "ts": 1})
        await client.wait_for("pong")
        assert not client.messages("error")
        await client.ws.send(b"\0" * (limit + 2))
        error = await client.wait_for("error")
        assert error.message["code"] == "frame_too_large"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.ws.close_code == 1009


async def test_audio_faster_than_real_time_is_dropped_then_closed_with_1008(
    realtime_server: Served,
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-flood") as client:
        await client.wait_for("ready")
        second = b"\0" * 32_000  # 1 s at 16 kHz
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(60):  # 60 s of audio in well under a second
                await client.ws.send(second)
        error = await client.wait_for("error")
        assert error.message["code"] == "audio_overrun"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.ws.close_code == 1008 and client.ws.close_reason == "audio overrun"
        errors = [e for e in client.messages("error") if e["code"] == "audio_overrun"]
        # Told once when frames started to drop, once more at the close: when to retry.
        assert len(errors) == 2, errors
        assert "retry in 5 s" in errors[-1]["message"]
    # Reconnecting at once does not buy a fresh budget: the user waits first.
    async with VoiceClient.connect(url, "rt-flood") as client:
        refused = await client.wait_for("error")
        assert refused.message["code"] == "audio_overrun"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.ws.close_code == 1008


async def test_unsupported_rate_and_bad_client_id_are_refused(realtime_server: Served) -> None:
    url, _ = realtime_server
    ws_url = url.replace("http", "ws")
    async with websockets.connect(f"{ws_url}/ws/voice/rt-rate?sample_rate=44100") as ws:
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "invalid_input"
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1008
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(f"{ws_url}/ws/voice/bad%20id!") as ws:
            await ws.recv()


async def test_session_cap_is_enforced_with_1013(realtime_server: Served) -> None:
    url, app = realtime_server
    services = app.state.services
    limit = services.settings.max_concurrent_sessions
    deadline = time.monotonic() + 10
    while await services.sessions.active_count():  # earlier tests' sockets closing
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(VoiceClient.connect(url, f"rt-cap-{i}"))
            for i in range(limit)
        ]
        for client in clients:
            await client.wait_for("ready")
        ws_url = url.replace("http", "ws")
        async with websockets.connect(f"{ws_url}/ws/voice/rt-cap-extra") as ws:
            error = json.loads(await ws.recv())
            assert error["code"] == "too_many_sessions"
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1013
    # Closing one frees its slot for the next client.
    async with VoiceClient.connect(url, "rt-cap-after") as client:
        await client.wait_for("ready")


async def test_abrupt_disconnect_mid_reply_leaks_nothing(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, app = realtime_server
    services = app.state.services
    ws_url = url.replace("http", "ws")
    ws = await websockets.connect(f"{ws_url}/ws/voice/rt-drop")
    await ws.recv()
    await ws.send(json.dumps({"type": "text", "text": "Tell me a long story about a castle."}))
    while json.loads(await ws.recv())["type"] != "audio":
        pass
    ws.transport.abort()  # no close frame: the network just went away
    deadline = time.monotonic() + 10
    while len(services.connections) or await services.sessions.active_count():
        assert time.monotonic() < deadline, "connection or session slot leaked"
        await asyncio.sleep(0.1)
    history = await read_history(url, "rt-drop")
    assert history["items"][0]["interrupted"] is True


async def test_audio_in_json_messages_works_too(
    realtime_server: Served, utterances: dict[str, bytes]
) -> None:
    url, _ = realtime_server
    async with VoiceClient.connect(url, "rt-json-audio") as client:
        await client.wait_for("ready")
        pcm = utterances["plus"]
        for offset in range(0, len(pcm), 3200):
            chunk = base64.b64encode(pcm[offset : offset + 3200]).decode()
            await client.send({"type": "audio", "data": chunk})
            await asyncio.sleep(0.1)
        done = await client.wait_for("reply_done")
    assert "19" in done.message["text"]
