"""Fault drill: the real PostgreSQL server restarted under load on ``/api/command``.

Four clients send commands to a real server (uvicorn on loopback) while the local
PostgreSQL is restarted with ``pg_ctlcluster … restart -m fast``. Expected: no 500
(requests during the outage are 503 + Retry-After), a success within 2 s of the
database accepting connections again, and every acknowledged turn in the history.

The server is shared with other tests and engineers: this drill restarts it once, and
its ``finally`` starts it again if needed and waits until it accepts connections.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import POSTGRES_SERVER, make_settings
from tests.live import live_app

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
_CLUSTER = "$(ls /etc/postgresql) main"
RESTART = f"pg_ctlcluster --skip-systemctl-redirect {_CLUSTER} restart -m fast"
START = f"pg_ctlcluster --skip-systemctl-redirect {_CLUSTER} start"
CLIENTS = 4
RECOVERY_S = 2.0


@dataclass(frozen=True)
class Answer:
    sent: float
    status: int
    turn_id: int | None
    retry_after: str | None


async def _accepting() -> bool:
    try:
        connection = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=1)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def _wait_accepting(within: float = 60.0) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await _accepting():
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError("PostgreSQL did not come back")


async def _shell(command: str) -> int:
    process = await asyncio.create_subprocess_shell(command)
    return await process.wait()


async def _client(url: str, name: str, stop: asyncio.Event, answers: list[Answer]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        n = 0
        while not stop.is_set():
            n += 1
            sent = time.monotonic()
            body = {"text": f"what is {n} plus 2", "client_id": name}
            try:
                response = await http.post("/api/command", json=body)
            except httpx.HTTPError:
                answers.append(Answer(sent, 0, None, None))  # a dropped connection
                await asyncio.sleep(0.05)
                continue
            turn = response.json().get("id") if response.status_code == 200 else None
            answers.append(
                Answer(sent, response.status_code, turn, response.headers.get("retry-after"))
            )
            await asyncio.sleep(0.05 if response.status_code == 200 else 0.1)


async def _history_ids(url: str, name: str) -> set[int]:
    ids: set[int] = set()
    before: int | None = None
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        while True:
            params: dict[str, str | int] = {"client_id": name, "limit": 100}
            if before is not None:
                params["before"] = before
            page = (await http.get("/api/history", params=params)).json()
            ids |= {item["id"] for item in page["items"]}
            before = page["next_before"]
            if before is None:
                return ids


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs pg_ctlcluster")
@pytest.mark.skipif(not Path("/etc/postgresql").is_dir(), reason="needs a local cluster")
@pytest.mark.skipif(os.geteuid() != 0, reason="restarting PostgreSQL needs root")
async def test_postgres_restart_under_load_loses_nothing(tmp_path: Path, postgres_url: str) -> None:
    settings = make_settings(tmp_path, postgres_url, database_pool_size=4)
    names = [f"drill-{uuid.uuid4().hex[:8]}" for _ in range(CLIENTS)]
    answers: dict[str, list[Answer]] = {name: [] for name in names}
    with live_app(settings) as (url, _app):
        stop = asyncio.Event()
        load = [asyncio.create_task(_client(url, n, stop, answers[n])) for n in names]
        try:
            await asyncio.sleep(1.5)  # warm: every pooled connection in use
            assert await _shell(RESTART) == 0
            back = await _wait_accepting()
            await asyncio.sleep(RECOVERY_S + 2.0)
        finally:
            stop.set()
            await asyncio.gather(*load, return_exceptions=True)
            if not await _accepting():
                await _shell(START)
            await _wait_accepting()
        every = [a for name in names for a in answers[name]]
        statuses = [a.status for a in every]
        assert 500 not in statuses, statuses
        assert 0 not in statuses, "a connection was dropped"
        assert all(a.retry_after for a in every if a.status == 503)
        late = [a for a in every if a.sent >= back + RECOVERY_S]
        assert late and all(a.status == 200 for a in late), [a.status for a in late]
        first_ok = min(a.sent for a in every if a.status == 200 and a.sent >= back)
        assert first_ok - back <= RECOVERY_S
        for name in names:
            acknowledged = {a.turn_id for a in answers[name] if a.status == 200}
            assert acknowledged <= await _history_ids(url, name), name
