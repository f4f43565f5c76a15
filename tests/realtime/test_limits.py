"""Limits on voice sockets: messages per socket, turns and open sockets per user, and the
session slot heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from prometheus_client import REGISTRY

from ballsy.testing.voice_client import VoiceClient
from tests.conftest import make_settings
from tests.live import live_app


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    settings = make_settings(
        tmp_path_factory.mktemp("rt-limits"),
        ws_messages_per_minute=20,
        ws_turns_per_minute=2,
        realtime_ping_interval=1.0,
        session_heartbeat_ttl=5,
        max_sessions_per_user=2,
    )
    with live_app(settings) as served:
        yield served


async def test_message_flood_is_refused_once_and_dropped(
    limited_server: tuple[str, Any],
) -> None:
    url, _ = limited_server
    metric = ("ballsy_rate_limit_rejections_total", {"scope": "ws_message"})
    before = REGISTRY.get_sample_value(*metric) or 0
    async with VoiceClient.connect(url, "lim-msg") as client:
        await client.wait_for("ready")
        for n in range(30):
            await client.send({"type": "ping", "ts": n})
        error = await client.wait_for("error")
        assert error.message["code"] == "rate_limited"
        await asyncio.sleep(0.5)
        assert len(client.messages("pong")) == 20  # the rest were dropped
        assert len([e for e in client.messages("error") if e["code"] == "rate_limited"]) == 1
    assert REGISTRY.get_sample_value(*metric) == before + 10  # each dropped message counts


async def test_an_open_socket_counts_as_an_active_session(
    limited_server: tuple[str, Any],
) -> None:
    url, _ = limited_server
    before = REGISTRY.get_sample_value("ballsy_sessions_active") or 0
    async with VoiceClient.connect(url, "lim-gauge") as client:
        await client.wait_for("ready")
        assert REGISTRY.get_sample_value("ballsy_sessions_active") == before + 1
    deadline = time.monotonic() + 10
    while REGISTRY.get_sample_value("ballsy_sessions_active") != before:
        assert time.monotonic() < deadline, "the session was not counted out"
        await asyncio.sleep(0.05)


async def test_turns_per_minute(limited_server: tuple[str, Any]) -> None:
    url, _ = limited_server
    async with VoiceClient.connect(url, "lim-turn") as client:
        await client.wait_for("ready")
        for n in range(3):
            await client.send({"type": "text", "text": f"what is {n} plus 1"})
            await asyncio.sleep(0.3)
        error = await client.wait_for("error", within=20)
        assert error.message["code"] == "rate_limited"
        assert len(client.messages("reply_done")) <= 2


async def test_the_turn_limit_is_per_user_and_survives_a_reconnect(
    limited_server: tuple[str, Any],
) -> None:
    url, _ = limited_server
    async with VoiceClient.connect(url, "lim-again") as client:
        await client.wait_for("ready")
        for n in range(2):
            await client.send({"type": "text", "text": f"what is {n} plus 2"})
            await client.wait_for("reply_done", count=n + 1, within=60)
    # A new socket is not a new budget: the user has had their 2 turns this minute.
    async with VoiceClient.connect(url, "lim-again") as client:
        await client.wait_for("ready")
        await client.send({"type": "text", "text": "what is 5 plus 2"})
        error = await client.wait_for("error", within=20)
        assert error.message["code"] == "rate_limited" and error.message["turn_id"]
        assert not client.messages("reply_done")
    # Another user is not affected.
    async with VoiceClient.connect(url, "lim-other") as client:
        await client.wait_for("ready")
        await client.send({"type": "text", "text": "what is 5 plus 2"})
        await client.wait_for("reply_done", within=60)


async def test_one_user_may_hold_only_max_sessions_per_user_sockets(
    limited_server: tuple[str, Any],
) -> None:
    url, app = limited_server
    sessions = app.state.services.sessions
    ws_url = url.replace("http", "ws")
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(2):
            client = await stack.enter_async_context(VoiceClient.connect(url, "lim-sockets"))
            await client.wait_for("ready")
        async with websockets.connect(f"{ws_url}/ws/voice/lim-sockets") as ws:
            error = json.loads(await ws.recv())
            assert error["code"] == "too_many_sessions" and "2 voice sessions" in error["message"]
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1013
        # Someone else still gets in.
        other = await stack.enter_async_context(VoiceClient.connect(url, "lim-sockets-2"))
        await other.wait_for("ready")
    # Closing the sockets gives the user's slots back.
    deadline = time.monotonic() + 10
    while await sessions.active_count():
        assert time.monotonic() < deadline, "a closed socket kept its slot"
        await asyncio.sleep(0.1)
    async with VoiceClient.connect(url, "lim-sockets") as client:
        await client.wait_for("ready")


async def test_heartbeat_keeps_the_session_slot(limited_server: tuple[str, Any]) -> None:
    url, app = limited_server
    sessions = app.state.services.sessions
    async with VoiceClient.connect(url, "lim-beat") as client:
        await client.wait_for("ready")
        await asyncio.sleep(7)  # longer than the 5 s slot TTL: only heartbeats keep it
        assert await sessions.active_count() == 1
