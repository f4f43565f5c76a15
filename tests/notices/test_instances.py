"""Due items across real ``ballsy serve`` processes sharing one PostgreSQL database.

- **Exactly once**: two instances poll the same database every 0.2 s; a timer set on
  one fires once (one claim, one history row, one ``fired`` log line in all) and is
  spoken once on every open voice socket of its user, whichever instance holds it.
- **Restart survival**: items set on an instance that is stopped (SIGTERM) before
  they are due fire on the instance started after it, and one that came due while
  nothing ran says how late it is.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from tests.servers import BallsyServer, create_database, drop_database, start_servers, stop_all

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(180)]
POLL_S = 0.2


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    url = await create_database()
    yield url
    await drop_database(url)


def environment(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "2",
        "DATABASE_MAX_OVERFLOW": "2",
        "NOTICE_POLL_INTERVAL": str(POLL_S),
    }


@pytest.fixture
def two_instances(tmp_path: Path, database_url: str) -> Iterator[list[BallsyServer]]:
    servers = start_servers(2, tmp_path, environment(database_url))
    try:
        yield servers
    finally:
        stop_all(servers)


class Socket:
    """An open ``/ws/voice`` socket whose messages are read into ``messages``."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.messages: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()

    async def read(self) -> None:
        async for raw in self.socket:
            if isinstance(raw, str):
                async with self._arrived:
                    self.messages.append(json.loads(raw))
                    self._arrived.notify_all()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def wait_for(self, kind: str, within: float = 60, **fields: object) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            hits = [m for m in self.of(kind) if all(m.get(k) == v for k, v in fields.items())]
            return hits[0] if hits else None

        async with asyncio.timeout(within), self._arrived:
            while (hit := found()) is None:
                await self._arrived.wait()
            return hit


@asynccontextmanager
async def voice(server: BallsyServer, user: str) -> AsyncIterator[Socket]:
    url = server.url.replace("http", "ws", 1) + f"/ws/voice/{user}"
    async with websockets.connect(url, max_size=None) as raw:
        socket = Socket(raw)
        reader = asyncio.create_task(socket.read())
        try:
            await socket.wait_for("ready", within=30)
            yield socket
        finally:
            reader.cancel()


async def rows(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def test_a_timer_fires_once_and_speaks_once_on_every_socket(
    two_instances: list[BallsyServer], database_url: str
) -> None:
    first, second = two_instances
    user = f"twice-{uuid.uuid4().hex[:8]}"
    async with voice(first, user) as a1, voice(first, user) as a2, voice(second, user) as b1:
        await a1.socket.send(json.dumps({"type": "text", "text": "set a timer for 3 seconds"}))
        set_reply = await a1.wait_for("reply_done")
        assert set_reply["text"] == "OK, 3 second timer, starting now."
        for socket in (a1, a2, b1):
            notice = await socket.wait_for("notice", within=30)
            assert (notice["kind"], notice["text"]) == ("timer", "Your 3 second timer is done.")
            spoken = await socket.wait_for("reply_done", turn_id=notice["turn_id"])
            assert spoken["text"] == notice["text"]
        # Both instances keep polling: many ticks later there is still one notice each.
        await asyncio.sleep(20 * POLL_S)
        for socket in (a1, a2, b1):
            assert len(socket.of("notice")) == 1, socket.of("notice")
    fired = await rows(
        database_url,
        "SELECT d.status, d.fired_at FROM due_items d JOIN users u ON u.id = d.user_id "
        "WHERE u.client_id = $1",
        user,
    )
    assert [row["status"] for row in fired] == ["fired"] and fired[0]["fired_at"] is not None
    notices = await rows(
        database_url,
        "SELECT c.reply_text FROM command_history c JOIN users u ON u.id = c.user_id "
        "WHERE u.client_id = $1 AND c.handled_by = 'notice'",
        user,
    )
    assert [row["reply_text"] for row in notices] == ["Your 3 second timer is done."]
    claims = sum(server.log().count("ballsy.notices.fired") for server in two_instances)
    assert claims == 1


async def notices_on(events: httpx.Response, count: int) -> list[dict[str, Any]]:
    """The first ``count`` notices of an ``/api/events`` stream."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        async for line in events.aiter_lines():
            if line.startswith("data: "):
                got.append(json.loads(line.removeprefix("data: ")))
                if len(got) == count:
                    return got
    raise AssertionError(f"the stream ended after {got}")


async def test_due_items_survive_a_restart_and_a_late_one_says_how_late(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(database_url)
    user = f"restart-{uuid.uuid4().hex[:8]}"
    before = BallsyServer(tmp_path / "before", env).start()
    try:
        before.wait_ready()
        async with httpx.AsyncClient(base_url=before.url, timeout=30) as http:
            for text, said in (
                (
                    "remind me in 10 seconds to stretch",
                    "OK, I'll remind you to stretch in 10 seconds.",
                ),
                ("set a timer for 8 seconds", "OK, 8 second timer, starting now."),
            ):
                body = (
                    await http.post("/api/command", json={"text": text, "client_id": user})
                ).json()
                assert body["reply"] == said
    finally:
        before.stop()  # SIGTERM, before either is due
    assert before.process is not None and before.process.returncode == 0, before.log()
    pending = await rows(database_url, "SELECT kind, status FROM due_items ORDER BY kind")
    assert [tuple(row) for row in pending] == [("reminder", "pending"), ("timer", "pending")]
    # The reminder came due three minutes into a long outage.
    await rows(
        database_url,
        "UPDATE due_items SET due_at = now() - interval '3 minutes' WHERE kind = 'reminder'",
    )
    after = BallsyServer(tmp_path / "after", env).start()
    try:
        after.wait_ready()
        async with (
            httpx.AsyncClient(base_url=after.url, timeout=30) as http,
            http.stream("GET", "/api/events", params={"client_id": user}) as events,
        ):
            got = await notices_on(events, 2)
        async with httpx.AsyncClient(base_url=after.url, timeout=30) as http:
            history = (await http.get("/api/history", params={"client_id": user})).json()
    finally:
        after.stop()
    texts = {event["kind"]: event["text"] for event in got}
    assert texts["reminder"] == "Here is a reminder from 3 minutes ago: stretch."
    assert texts["timer"].startswith("Your 8 second timer ")  # "is done." or "finished … ago."
    late = {event["kind"]: event["late_s"] for event in got}
    assert 170 < late["reminder"] < 240
    assert "ballsy.notices.fired" not in before.log()
    assert after.log().count("ballsy.notices.fired") == 2
    told = [item for item in history["items"] if item["handled_by"]["kind"] == "notice"]
    assert sorted(item["reply"] for item in told) == sorted(texts.values())
