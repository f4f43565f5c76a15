"""Redis state: what several instances share (redis-py asyncio + ``limits``).

Every multi-step operation is one Lua script or one atomic command, so it stays exact
when many processes race: slots use a sorted set scored by expiry and Redis's own
clock (instances' clocks may drift); rate limits use the ``limits`` scripts.

Connections fail fast (``REDIS_TIMEOUT``, one immediate retry for a pooled socket the
server closed) because a caller waiting on a dead Redis is worse than the in-process
fallback: :mod:`ballsy.state.failover` decides what happens on error.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import RateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ballsy.state.base import BackendName, RateLimitStrategy, RateWindow, limiter_for

# KEYS[1] slot set; ARGV: ttl ms, limit, member. Frees expired slots first.
_SLOT_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expires = now + tonumber(ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or
   redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], expires, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
  return 1
end
return 0
"""
# KEYS[1] slot set; ARGV: ttl ms, member. Extends a live slot only.
_SLOT_TOUCH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score or tonumber(score) <= now then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
"""
_SLOT_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""


def _pool(url: str, timeout: float, size: int, *, decode: bool) -> aioredis.ConnectionPool:
    # Blocking: a burst beyond ``size`` waits for a connection (bounded by the failover
    # deadline) instead of failing with "too many connections", which would read as
    # Redis being down and needlessly degrade the instance.
    return aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=None,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # One immediate retry for a pooled socket the server closed (a restart); a
        # timeout is not retried: a hung Redis should cost one REDIS_TIMEOUT, not two.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        decode_responses=decode,
        health_check_interval=30,
    )


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisBackend:
    name: BackendName = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "",
        timeout: float = 0.5,
        max_connections: int = 64,
        strategy: RateLimitStrategy = "moving-window",
    ) -> None:
        self._prefix = prefix
        self._pool = _pool(url, timeout, max_connections, decode=True)
        self._client = aioredis.Redis(connection_pool=self._pool)
        # limits parses its own replies, so it gets a pool without response decoding.
        self._limits_pool = _pool(url, timeout, max_connections, decode=False)
        options: dict[str, Any] = {"connection_pool": self._limits_pool}
        storage = RedisStorage(
            "async+" + url, implementation="redispy", key_prefix=f"{prefix}limits", **options
        )
        self._limiter: RateLimiter = limiter_for(strategy, storage)
        self._acquire = self._client.register_script(_SLOT_ACQUIRE)
        self._touch = self._client.register_script(_SLOT_TOUCH)
        self._count = self._client.register_script(_SLOT_COUNT)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def ping(self) -> None:
        await self._client.ping()

    async def get(self, key: str) -> str | None:
        return _text(await self._client.get(self._key(key)))

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        await self._client.set(self._key(key), value, px=_ms(ttl) if ttl is not None else None)

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._client.set(self._key(key), value, px=_ms(ttl), nx=True))

    async def take(self, key: str) -> str | None:
        return _text(await self._client.getdel(self._key(key)))

    async def delete(self, key: str) -> None:
        await self._client.delete(self._key(key))

    async def expire(self, key: str, ttl: float) -> bool:
        return bool(await self._client.pexpire(self._key(key), _ms(ttl)))

    async def slot_acquire(self, group: str, member: str, limit: int, ttl: float) -> bool:
        return bool(await self._acquire(keys=[self._key(group)], args=[_ms(ttl), limit, member]))

    async def slot_touch(self, group: str, member: str, ttl: float) -> bool:
        return bool(await self._touch(keys=[self._key(group)], args=[_ms(ttl), member]))

    async def slot_release(self, group: str, member: str) -> None:
        await self._client.zrem(self._key(group), member)

    async def slot_count(self, group: str) -> int:
        return int(await self._count(keys=[self._key(group)], args=[]))

    async def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> RateWindow:
        allowed = await self._limiter.hit(item, key, cost=cost)
        stats = await self._limiter.get_window_stats(item, key)
        return RateWindow(allowed, item.amount, stats.remaining, stats.reset_time)

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.aclose()
        await self._limits_pool.aclose()
