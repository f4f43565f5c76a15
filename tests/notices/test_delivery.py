"""A due timer speaks on an open ``/ws/voice`` socket and streams on ``GET /api/events``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_settings
from tests.live import live_app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(Path(tmp_path_factory.mktemp("notices")), notice_poll_interval=0.2)
    with live_app(settings) as (url, _app):
        yield url


async def _until(socket: Any, wanted: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            message = await socket.recv()
            if isinstance(message, str) and (event := json.loads(message))["type"] == wanted:
                return dict(event)


async def test_a_due_timer_is_spoken_on_the_socket(server: str, client_id: str) -> None:
    ws_url = server.replace("http", "ws") + f"/ws/voice/{client_id}"
    async with websockets.connect(ws_url, max_size=None) as socket:
        await _until(socket, "ready")
        await socket.send(json.dumps({"type": "text", "text": "set a timer for 1 second"}))
        done = await _until(socket, "reply_done")
        assert done["text"] == "OK, 1 second timer, starting now."
        notice = await _until(socket, "notice")
        assert notice["kind"] == "timer"
        assert notice["text"] == "Your 1 second timer is done."
        audio = await _until(socket, "audio")
        assert audio["turn_id"] == notice["turn_id"]
        spoken = await _until(socket, "reply_done")
        assert spoken["turn_id"] == notice["turn_id"]
        assert spoken["text"] == notice["text"]
    async with httpx.AsyncClient(base_url=server) as http:
        history = (await http.get("/api/history", params={"client_id": client_id})).json()
    kinds = [item["handled_by"]["kind"] for item in history["items"]]
    assert kinds[0] == "notice"


async def test_rest_clients_get_the_notice_as_an_event(server: str, client_id: str) -> None:
    async with (
        httpx.AsyncClient(base_url=server, timeout=30) as http,
        http.stream("GET", "/api/events", params={"client_id": client_id}) as events,
    ):
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.aiter_lines()
        assert await anext(lines) == ": connected"
        response = await http.post(
            "/api/command", json={"text": "timer one second", "client_id": client_id}
        )
        assert response.json()["reply"] == "OK, 1 second timer, starting now."
        async with asyncio.timeout(20):
            async for line in lines:
                if line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    break
    assert event["type"] == "notice"
    assert event["text"] == "Your 1 second timer is done."
