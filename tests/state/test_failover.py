"""Redis goes away and comes back: a private redis-server, killed and restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from limits import RateLimitItemPerMinute

from ballsy.config import Settings
from ballsy.state.failover import FailoverState
from ballsy.state.redis_backend import RedisBackend
from ballsy.state.sessions import SessionSlots
from tests.conftest import make_settings
from tests.servers import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def state_settings(tmp_path: Path, redis_url: str | None) -> Settings:
    return make_settings(tmp_path, redis_url=redis_url, redis_timeout=0.2, redis_retry_interval=0.1)


@pytest.fixture
async def state(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[FailoverState]:
    failover = FailoverState.from_settings(state_settings(tmp_path, redis_server.url))
    await failover.start()
    yield failover
    await failover.close()


async def seconds_until(condition: Callable[[], bool], limit_s: float = 5.0) -> float:
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < limit_s, "condition not reached"
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def test_no_redis_configured_is_memory_and_not_degraded(tmp_path: Path) -> None:
    failover = FailoverState.from_settings(state_settings(tmp_path, None))
    await failover.start()
    assert failover.status()["backend"] == "memory"
    assert failover.status()["configured"] == "memory"
    assert not failover.degraded
    await failover.close()


async def test_unreachable_redis_at_start_serves_from_memory(tmp_path: Path) -> None:
    failover = FailoverState.from_settings(state_settings(tmp_path, "redis://127.0.0.1:1/0"))
    await failover.start()
    assert failover.degraded and failover.name == "memory"
    await failover.set("k", "v", 5)
    assert await failover.get("k") == "v"
    await failover.close()


async def test_kill_and_restart_redis(
    state: FailoverState, redis_server: RedisServer, tmp_path: Path
) -> None:
    item = RateLimitItemPerMinute(1000, namespace="t")
    await state.set("before", "1", 60)
    assert (await state.hit(item, "u")).allowed
    assert state.name == "redis" and not state.degraded

    redis_server.stop()
    started = time.perf_counter()
    # The first call after the crash fails on Redis and is answered from memory.
    window = await state.hit(item, "u")
    switch_s = time.perf_counter() - started
    assert window.allowed
    assert state.degraded and state.name == "memory"
    assert switch_s < 1.0, f"fallback took {switch_s:.3f}s"
    status = state.status()
    assert status["degraded"] and status["degraded_since"] and status["last_error"]
    assert await state.get("before") is None, "memory does not have Redis's data"
    await state.set("during", "2", 60)
    await state.set("session:during", "s", 60)
    assert await state.get("during") == "2"

    redis_server.start()  # the same port again
    recovery_s = await seconds_until(lambda: not state.degraded)
    assert recovery_s < 3.0
    assert state.name == "redis"
    await state.set("after", "3", 60)
    assert await state.get("after") == "3"
    assert state.status()["switches"] == 2
    # Sessions made during the outage were handed over; other keys were not.
    other_instance = RedisBackend(redis_server.url)
    assert await other_instance.get("session:during") == "s"
    assert await other_instance.get("during") is None
    await other_instance.close()


async def test_sessions_survive_a_redis_outage_on_memory(
    state: FailoverState, redis_server: RedisServer, tmp_path: Path
) -> None:
    sessions = SessionSlots(state, state_settings(tmp_path, redis_server.url))
    redis_server.stop()
    opened = await sessions.open("user-1")
    assert (await sessions.get(opened.id, "user-1")).id == opened.id
    assert await sessions.active_count() == 1
