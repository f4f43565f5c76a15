"""A due timer on ``/v1/realtime``: a server-initiated response that speaks the notice.

The client is the official ``openai`` SDK (GA and beta); every server event is validated
against the SDK's own models (tests/realtime/sdk_log.py). The native ``/ws/voice`` path
is tests/notices/test_delivery.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import make_settings
from tests.live import live_app
from tests.realtime.sdk_log import EventLog, audio_of

NAMES = {
    "ga": {
        "model": "gpt-realtime",
        "item": "conversation.item.added",
        "audio": "response.output_audio.delta",
        "transcript": "response.output_audio_transcript.done",
    },
    "beta": {
        "model": "gpt-4o-realtime-preview",
        "item": "conversation.item.created",
        "audio": "response.audio.delta",
        "transcript": "response.audio_transcript.done",
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(Path(tmp_path_factory.mktemp("rt-notice")), notice_poll_interval=0.2)
    with live_app(settings) as (url, _app):
        yield url


@asynccontextmanager
async def realtime(url: str, client_id: str, dialect: str) -> AsyncIterator[EventLog]:
    query = {"client_id": client_id}
    model = NAMES[dialect]["model"]
    if dialect == "ga":
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="not-needed")
        manager: Any = client.realtime.connect(model=model, extra_query=query)
    else:
        ws_url = url.replace("http", "ws", 1) + "/v1"
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", websocket_base_url=ws_url)
        manager = client.beta.realtime.connect(model=model, extra_query=query)
    async with manager as connection, EventLog.attach(connection, dialect) as log:
        await log.wait_for("session.created")
        yield log


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_a_due_timer_is_a_spoken_response(server: str, client_id: str, dialect: str) -> None:
    names = NAMES[dialect]
    async with realtime(server, client_id, dialect) as log:
        ask = [{"type": "input_text", "text": "set a timer for 1 second"}]
        await log.connection.conversation.item.create(
            item={"type": "message", "role": "user", "content": ask}
        )
        await log.connection.response.create()
        answer = await log.wait_for("response.done", within=60)
        assert answer.response.status == "completed"
        said = answer.response.output[0].content[0].transcript
        assert said == "OK, 1 second timer, starting now."
        since = log.index(answer) + 1
        # Nothing asked: the server starts a response of its own when the timer is due.
        created = await log.wait_for("response.created", since=since, within=30)
        done = await log.wait_for(
            "response.done",
            since=since,
            within=60,
            where=lambda e: e.response.id == created.response.id,
        )
        assert done.response.status == "completed"
        item = done.response.output[0]
        assert item.role == "assistant"
        assert item.content[0].transcript == "Your 1 second timer is done."
        transcript = log.of(names["transcript"], since=since)
        assert [e.transcript for e in transcript] == ["Your 1 second timer is done."]
        audio = [
            e for e in log.of(names["audio"], since=since) if e.response_id == created.response.id
        ]
        pcm = audio_of(audio)
        assert len(pcm) > 24_000 and any(pcm)  # more than half a second of speech
        added = log.of("response.output_item.added", since=since)
        assert [e.item.id for e in added] == [item.id]
        order = [log.index(e) for e in (created, added[0], audio[0], transcript[0], done)]
        assert order == sorted(order)
        assert len(log.of("response.created", since=since)) == 1  # spoken once
    async with httpx.AsyncClient(base_url=server) as http:
        history = (await http.get("/api/history", params={"client_id": client_id})).json()
    notice = history["items"][0]
    assert notice["handled_by"]["kind"] == "notice" and notice["source"] == "notice"
    assert notice["reply"] == "Your 1 second timer is done."
