"""Both state backends honour the same contract; Redis's is shared between clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from limits import RateLimitItemPerMinute

from ballsy.state.base import StateBackend
from ballsy.state.memory import MemoryBackend
from ballsy.state.redis_backend import RedisBackend
from tests.conftest import REDIS_SERVER


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[StateBackend]:
    store: StateBackend = (
        MemoryBackend()
        if request.param == "memory"
        else RedisBackend(REDIS_SERVER, prefix=redis_prefix)
    )
    yield store
    await store.close()


async def test_values_expire(backend: StateBackend) -> None:
    await backend.set("a", "1", 0.2)
    await backend.set("forever", "x", None)
    assert await backend.get("a") == "1"
    await asyncio.sleep(0.3)
    assert await backend.get("a") is None
    assert await backend.get("forever") == "x"


async def test_set_if_absent_take_expire(backend: StateBackend) -> None:
    assert await backend.set_if_absent("k", "first", 5)
    assert not await backend.set_if_absent("k", "second", 5)
    assert await backend.expire("k", 10)
    assert await backend.take("k") == "first"
    assert await backend.take("k") is None
    assert not await backend.expire("k", 10)
    await backend.set("d", "v", 5)
    await backend.delete("d")
    assert await backend.get("d") is None


async def test_take_hands_a_value_out_once_under_concurrency(backend: StateBackend) -> None:
    await backend.set("ticket", "t", 5)
    results = await asyncio.gather(*(backend.take("ticket") for _ in range(20)))
    assert results.count("t") == 1


async def test_slots_cap_and_expire(backend: StateBackend) -> None:
    results = await asyncio.gather(*(backend.slot_acquire("g", f"m{i}", 5, 0.4) for i in range(20)))
    assert sum(results) == 5
    assert await backend.slot_count("g") == 5
    holder = f"m{results.index(True)}"
    assert await backend.slot_acquire("g", holder, 5, 0.4), "a holder may renew"
    assert await backend.slot_touch("g", holder, 5)
    assert not await backend.slot_touch("g", "stranger", 5)
    await asyncio.sleep(0.5)
    assert await backend.slot_count("g") == 1, "only the touched slot is left"
    await backend.slot_release("g", holder)
    assert await backend.slot_count("g") == 0


async def test_rate_limit_is_exact_under_concurrency(backend: StateBackend) -> None:
    item = RateLimitItemPerMinute(37, namespace="test")
    windows = await asyncio.gather(*(backend.hit(item, "user-1") for _ in range(100)))
    assert sum(w.allowed for w in windows) == 37
    assert all(w.limit == 37 for w in windows)
    refused = [w for w in windows if not w.allowed]
    assert all(w.remaining == 0 for w in refused)
    now = time.time()
    assert all(0 < w.reset_in(now) <= 60 for w in refused)
    other = await backend.hit(item, "user-2")
    assert other.allowed and other.remaining == 36


async def test_two_redis_clients_share_state(redis_prefix: str) -> None:
    one = RedisBackend(REDIS_SERVER, prefix=redis_prefix)
    two = RedisBackend(REDIS_SERVER, prefix=redis_prefix)
    try:
        await one.set("session:x", "hello", 5)
        assert await two.get("session:x") == "hello"
        item = RateLimitItemPerMinute(10, namespace="shared")
        hits = await asyncio.gather(
            *(client.hit(item, "u") for client in (one, two) for _ in range(10))
        )
        assert sum(h.allowed for h in hits) == 10
    finally:
        await one.close()
        await two.close()
