"""Redis killed under load, then restarted: no 5xx, degraded visible, then recovered.

Two real instances share a private redis-server (the shared one on 6379 is never
touched). A steady load of authenticated requests that use state (rate limits on
every request, sessions opened and read) runs through the whole outage.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ballsy.accounts.service import Accounts
from ballsy.store.db import Database
from tests.conftest import make_settings
from tests.servers import (
    BallsyServer,
    RedisServer,
    create_database,
    drop_database,
    start_servers,
    stop_all,
)

pytestmark = [pytest.mark.postgres]


async def load(
    http: httpx.AsyncClient,
    servers: list[BallsyServer],
    headers: dict[str, str],
    stop: asyncio.Event,
) -> Counter[int]:
    """Requests that touch every state feature, round-robin, until told to stop."""
    codes: Counter[int] = Counter()
    turn = 0
    while not stop.is_set():
        server = servers[turn % len(servers)]
        turn += 1
        try:
            history = await http.get(server.url + "/api/history", headers=headers)
            opened = await http.post(server.url + "/api/sessions", json={}, headers=headers)
            codes.update([history.status_code, opened.status_code])
            if opened.status_code == 201:
                read = await http.get(
                    f"{server.url}/api/sessions/{opened.json()['id']}", headers=headers
                )
                # Opened on Redis a moment before it died, read from memory: not there.
                codes[-404 if read.status_code == 404 else read.status_code] += 1
        except httpx.HTTPError as exc:  # a dropped connection is as bad as a 5xx
            codes[(type(exc).__name__ == "ReadTimeout" and 504) or 599] += 1
    return codes


async def backends(
    http: httpx.AsyncClient, servers: list[BallsyServer], admin: dict[str, str]
) -> list[dict[str, object]]:
    states = []
    for server in servers:
        response = await http.get(server.url + "/api/admin/state", headers=admin)
        assert response.status_code == 200, response.text
        states.append(response.json()["state"])
    return states


async def seconds_until(check: object, limit_s: float = 10.0) -> float:
    start = time.perf_counter()
    while not await check():  # type: ignore[operator]
        assert time.perf_counter() - start < limit_s, "state did not change in time"
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


@pytest.fixture
async def outage_setup(
    tmp_path: Path,
) -> AsyncIterator[tuple[list[BallsyServer], RedisServer, Accounts]]:
    redis = RedisServer(tmp_path / "redis").start()
    database_url = await create_database()
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "DATABASE_MAX_OVERFLOW": "4",
        "REDIS_URL": redis.url,
        "REDIS_TIMEOUT": "0.25",
        "REDIS_RETRY_INTERVAL": "0.25",
        "AUTH_MODE": "apikey",
        "MAX_REQUESTS_PER_MINUTE": "100000",
        # The load opens sessions as one user and never closes them.
        "MAX_SESSIONS_PER_USER": "100000",
    }
    servers = await asyncio.to_thread(start_servers, 2, tmp_path / "servers", env)
    database = Database(make_settings(tmp_path, database_url))
    try:
        yield servers, redis, Accounts(database)
    finally:
        await database.dispose()
        await asyncio.to_thread(stop_all, servers)
        redis.stop()
        await drop_database(database_url)


async def test_redis_killed_mid_load(
    outage_setup: tuple[list[BallsyServer], RedisServer, Accounts],
) -> None:
    servers, redis, users = outage_setup
    user = await users.create_user(f"load-{uuid.uuid4().hex[:6]}")
    admin = await users.create_user(f"admin-{uuid.uuid4().hex[:6]}", role="admin")
    user_headers = {"X-API-Key": (await users.create_key(user.id)).secret}
    admin_headers = {"X-API-Key": (await users.create_key(admin.id)).secret}
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=10) as http:
        assert all(s["backend"] == "redis" for s in await backends(http, servers, admin_headers))
        workers = [asyncio.create_task(load(http, servers, user_headers, stop)) for _ in range(3)]
        await asyncio.sleep(1.0)

        redis.stop()  # SIGKILL: connections reset, no goodbye

        async def all_degraded() -> bool:
            states = await backends(http, servers, admin_headers)
            return all(s["degraded"] and s["backend"] == "memory" for s in states)

        await seconds_until(all_degraded)
        during = await http.post(servers[0].url + "/api/sessions", json={}, headers=user_headers)
        await asyncio.sleep(1.0)  # keep serving from memory for a while

        redis.start()  # the same port again

        async def all_back() -> bool:
            states = await backends(http, servers, admin_headers)
            return all(not s["degraded"] and s["backend"] == "redis" for s in states)

        await seconds_until(all_back)
        await asyncio.sleep(0.5)
        stop.set()
        totals: Counter[int] = Counter()
        for codes in await asyncio.gather(*workers):
            totals.update(codes)

        # Shared again: a session opened on one instance is read on the other.
        opened = await http.post(servers[0].url + "/api/sessions", json={}, headers=user_headers)
        shared = await http.get(
            f"{servers[1].url}/api/sessions/{opened.json()['id']}", headers=user_headers
        )
        assert shared.status_code == 200
        # Opened on memory during the outage, handed over to Redis on recovery.
        handed = await http.get(
            f"{servers[1].url}/api/sessions/{during.json()['id']}", headers=user_headers
        )
        assert handed.status_code == 200
        final = await backends(http, servers, admin_headers)

    assert sum(totals.values()) > 30, totals
    lost = totals.pop(-404, 0)
    assert set(totals) <= {200, 201}, f"unexpected statuses under outage: {totals}"
    assert lost <= 2 * 3, "at most one session per worker and instance, at the switch"
    assert all(s["switches"] == 2 for s in final), final
