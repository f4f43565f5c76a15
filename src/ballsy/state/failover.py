"""The state every request uses: Redis when configured and answering, memory otherwise.

When a Redis call fails (refused, timed out, reset) the instance switches to its
in-process backend at once, logs ``ballsy.state.degraded`` and keeps answering; the
failing call itself is retried on memory, so the client never sees the outage. A
probe pings Redis every ``REDIS_RETRY_INTERVAL`` seconds and the first success
switches back (``ballsy.state.recovered``).

While degraded, limits are per instance and sessions are local: the service is
available but less exact, which is the trade the issue asks for. Sessions and tickets
created during the outage are copied into Redis before switching back; what lived in
Redis before the outage is out of reach while it lasts. :meth:`status` is what
``/ready`` and the admin API show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from limits import RateLimitItem
from limits.errors import StorageError
from redis.exceptions import RedisError

from ballsy.config import Settings
from ballsy.observability.logging import get_logger
from ballsy.state.base import BackendName, RateWindow, StateBackend
from ballsy.state.memory import MemoryBackend
from ballsy.state.redis_backend import RedisBackend

log = get_logger("ballsy.state")

T = TypeVar("T")
# Keys written to memory during an outage that are worth keeping once Redis is back.
HANDED_OVER_PREFIXES = ("session:", "ws-ticket:", "refresh-used:")
# What "Redis is not answering" looks like from redis-py, the limits library and sockets.
UNAVAILABLE: tuple[type[BaseException], ...] = (RedisError, StorageError, OSError, TimeoutError)


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


class FailoverState:
    """A :class:`StateBackend` that prefers Redis and falls back to memory."""

    def __init__(
        self,
        memory: MemoryBackend,
        redis: StateBackend | None = None,
        *,
        timeout: float = 0.5,
        retry_interval: float = 1.0,
    ) -> None:
        self.memory = memory
        self.redis = redis
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._degraded = False
        self._since: float | None = None
        self._last_error: str | None = None
        self._switches = 0
        self._probe: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FailoverState:
        strategy = settings.rate_limit_strategy
        redis = (
            RedisBackend(
                settings.redis_url,
                prefix=settings.redis_key_prefix,
                timeout=settings.redis_timeout,
                max_connections=settings.redis_max_connections,
                strategy=strategy,
            )
            if settings.redis_url
            else None
        )
        return cls(
            MemoryBackend(strategy),
            redis,
            timeout=settings.redis_timeout,
            retry_interval=settings.redis_retry_interval,
        )

    # --- switching ---------------------------------------------------------------
    @property
    def name(self) -> BackendName:
        return "redis" if self.redis is not None and not self._degraded else "memory"

    @property
    def degraded(self) -> bool:
        return self._degraded

    def status(self) -> dict[str, Any]:
        """Which backend serves now and why; safe to show (no URLs, no keys)."""
        return {
            "backend": self.name,
            "configured": "redis" if self.redis is not None else "memory",
            "degraded": self._degraded,
            "degraded_since": _iso(self._since) if self._degraded else None,
            "last_error": self._last_error,
            "switches": self._switches,
        }

    async def start(self) -> None:
        """Check Redis once; an unreachable Redis starts the instance degraded, not dead."""
        if self.redis is None:
            return
        try:
            async with asyncio.timeout(self._timeout * 4):
                await self.redis.ping()
        except UNAVAILABLE as exc:
            self._degrade(exc)

    def _degrade(self, exc: BaseException) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"[:300]
        if self._degraded:
            return
        self._degraded = True
        self._since = time.time()
        self._switches += 1
        log.warning("ballsy.state.degraded", error=self._last_error)
        self._probe = asyncio.get_running_loop().create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        assert self.redis is not None
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                async with asyncio.timeout(self._timeout * 4):
                    await self.redis.ping()
                    # Copied while requests still use memory, so nothing written there
                    # during the copy is missed; the switch is the next statement.
                    handed_over = await self._hand_over(self.redis)
            except UNAVAILABLE as exc:
                self._last_error = f"{type(exc).__name__}: {exc}"[:300]
                continue
            outage = time.time() - (self._since or time.time())
            self._degraded = False
            self._since = None
            self._switches += 1
            log.info("ballsy.state.recovered", outage_s=round(outage, 3), handed_over=handed_over)
            return

    async def _hand_over(self, redis: StateBackend) -> int:
        """Copy what was created during the outage (sessions, tickets) into Redis."""
        copied: dict[str, str] = {}
        while True:  # requests keep writing to memory while we copy: go until none did
            pending = [
                entry
                for entry in self.memory.export(HANDED_OVER_PREFIXES)
                if copied.get(entry[0]) != entry[1]
            ]
            if not pending:
                break
            for key, value, ttl in pending:
                await redis.set(key, value, ttl)
                copied[key] = value
        self.memory.forget(copied)
        return len(copied)

    async def _run(self, op: Callable[[StateBackend], Awaitable[T]]) -> T:
        redis = self.redis
        if redis is not None and not self._degraded:
            try:
                # Socket timeouts bound each attempt; this bounds the retry as well.
                async with asyncio.timeout(self._timeout * 4):
                    return await op(redis)
            except UNAVAILABLE as exc:
                self._degrade(exc)
        return await op(self.memory)

    # --- StateBackend --------------------------------------------------------------
    async def ping(self) -> None:
        await self._run(lambda b: b.ping())

    async def get(self, key: str) -> str | None:
        return await self._run(lambda b: b.get(key))

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        await self._run(lambda b: b.set(key, value, ttl))

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        return await self._run(lambda b: b.set_if_absent(key, value, ttl))

    async def take(self, key: str) -> str | None:
        return await self._run(lambda b: b.take(key))

    async def delete(self, key: str) -> None:
        await self._run(lambda b: b.delete(key))

    async def expire(self, key: str, ttl: float) -> bool:
        return await self._run(lambda b: b.expire(key, ttl))

    async def slot_acquire(self, group: str, member: str, limit: int, ttl: float) -> bool:
        return await self._run(lambda b: b.slot_acquire(group, member, limit, ttl))

    async def slot_touch(self, group: str, member: str, ttl: float) -> bool:
        return await self._run(lambda b: b.slot_touch(group, member, ttl))

    async def slot_release(self, group: str, member: str) -> None:
        await self._run(lambda b: b.slot_release(group, member))

    async def slot_count(self, group: str) -> int:
        return await self._run(lambda b: b.slot_count(group))

    async def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> RateWindow:
        return await self._run(lambda b: b.hit(item, key, cost))

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        if self.redis is not None:
            await self.redis.close()
        await self.memory.close()
