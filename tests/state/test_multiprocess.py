"""Several real ``ballsy serve`` processes sharing PostgreSQL and Redis.

Four instances on loopback ports: a session opened on one is read on another and
survives a restart; one user's budget is one budget everywhere, exact when 4 x 100
requests race for it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ballsy.accounts.service import Accounts
from ballsy.store.db import Database
from tests.conftest import REDIS_SERVER, make_settings
from tests.servers import BallsyServer, create_database, drop_database, start_servers, stop_all

LIMIT = 50
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Cluster:
    servers: list[BallsyServer]
    admin: Accounts

    async def user_key(self, role: str = "user") -> dict[str, str]:
        user = await self.admin.create_user(f"mp-{uuid.uuid4().hex[:8]}", role=role)
        return {"X-API-Key": (await self.admin.create_key(user.id)).secret}


@pytest.fixture(scope="module")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, redis_prefix_module: str
) -> AsyncIterator[Cluster]:
    database_url = await create_database()
    data_dir = tmp_path_factory.mktemp("cluster")
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "DATABASE_MAX_OVERFLOW": "4",
        "REDIS_URL": REDIS_SERVER,
        "REDIS_KEY_PREFIX": redis_prefix_module,
        "AUTH_MODE": "apikey",
        "MAX_REQUESTS_PER_MINUTE": str(LIMIT),
        # CI shares two cores among four servers and the test: a slow Redis reply is
        # load, not an outage, so do not let it flip an instance to its fallback.
        "REDIS_TIMEOUT": "5",
    }
    servers = await asyncio.to_thread(start_servers, 4, data_dir, env)
    database = Database(make_settings(Path(data_dir), database_url))
    try:
        yield Cluster(servers, Accounts(database))
    finally:
        await database.dispose()
        await asyncio.to_thread(stop_all, servers)
        await drop_database(database_url)


@pytest.fixture(scope="module")
async def redis_prefix_module() -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    prefix = f"ballsy-mp:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_SERVER)
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_sessions_are_shared_and_survive_a_restart(cluster: Cluster) -> None:
    one, two, three, four = cluster.servers
    owner, stranger = await cluster.user_key(), await cluster.user_key()
    async with httpx.AsyncClient(timeout=30) as http:
        opened = await http.post(
            one.url + "/api/sessions", json={"data": {"lang": "fr"}}, headers=owner
        )
        assert opened.status_code == 201, opened.text
        url = f"/api/sessions/{opened.json()['id']}"
        read = await http.get(two.url + url, headers=owner)
        assert read.status_code == 200 and read.json()["data"] == {"lang": "fr"}
        beat = await http.post(
            three.url + url + "/heartbeat", json={"data": {"n": 1}}, headers=owner
        )
        assert beat.status_code == 200
        assert (await http.get(four.url + url, headers=stranger)).status_code == 404

        await asyncio.to_thread(one.stop)
        await asyncio.to_thread(lambda: one.start().wait_ready())
        after = await http.get(one.url + url, headers=owner)
        assert after.status_code == 200 and after.json()["data"] == {"lang": "fr", "n": 1}


async def test_one_budget_across_instances(cluster: Cluster) -> None:
    one, two = cluster.servers[:2]
    user = await cluster.user_key()
    async with httpx.AsyncClient(timeout=30) as http:
        first = [await http.get(one.url + "/api/history", headers=user) for _ in range(30)]
        second = [await http.get(two.url + "/api/history", headers=user) for _ in range(30)]
    assert all(r.status_code == 200 for r in first)
    assert [r.status_code for r in second] == [200] * (LIMIT - 30) + [429] * (60 - LIMIT)
    assert second[0].headers["x-ratelimit-remaining"] == str(LIMIT - 31)
    assert int(second[-1].headers["retry-after"]) > 0


async def test_exact_limit_with_4_processes_x_100_concurrent_hits(cluster: Cluster) -> None:
    user = await cluster.user_key()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        responses = await asyncio.gather(
            *(
                http.get(server.url + "/api/history", headers=user)
                for server in cluster.servers
                for _ in range(100)
            )
        )
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: LIMIT, 429: 400 - LIMIT}, codes
    per_server = Counter(str(r.request.url.port) for r in responses if r.status_code == 200)
    assert len(per_server) > 1, "the budget was spent on several instances"
