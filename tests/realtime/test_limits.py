"""Per-session limits on voice sockets: messages, turns, and the session slot heartbeat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ballsy.realtime.client import VoiceClient
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
    )
    with live_app(settings) as served:
        yield served


async def test_message_flood_is_refused_once_and_dropped(
    limited_server: tuple[str, Any],
) -> None:
    url, _ = limited_server
    async with VoiceClient.connect(url, "lim-msg") as client:
        await client.wait_for("ready")
        for n in range(30):
            await client.send({"type": "ping", "ts": n})
        error = await client.wait_for("error")
        assert error.message["code"] == "rate_limited"
        await asyncio.sleep(0.5)
        assert len(client.messages("pong")) == 20  # the rest were dropped
        assert len([e for e in client.messages("error") if e["code"] == "rate_limited"]) == 1


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


async def test_heartbeat_keeps_the_session_slot(limited_server: tuple[str, Any]) -> None:
    url, app = limited_server
    sessions = app.state.services.sessions
    async with VoiceClient.connect(url, "lim-beat") as client:
        await client.wait_for("ready")
        await asyncio.sleep(7)  # longer than the 5 s slot TTL: only heartbeats keep it
        assert await sessions.active_count() == 1
