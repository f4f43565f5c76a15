"""In-process state: the embedded default, and the fallback while Redis is away.

Everything lives in dicts on the event loop, so each operation is atomic by
construction (no awaits inside). Expired entries are dropped when read and swept
every few hundred writes so an idle key never pins memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import RateLimiter

from ballsy.state.base import BackendName, RateLimitStrategy, RateWindow, limiter_for

_SWEEP_EVERY = 512


class MemoryBackend:
    name: BackendName = "memory"

    def __init__(self, strategy: RateLimitStrategy = "moving-window") -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self._writes = 0
        self._limiter: RateLimiter = limiter_for(strategy, MemoryStorage())

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def _sweep(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY:
            return
        now = self._now()
        expired = [k for k, (_, exp) in self._values.items() if exp is not None and exp <= now]
        for key in expired:
            del self._values[key]

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self._now():
            del self._values[key]
            return None
        return value

    async def ping(self) -> None:
        return None

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        self._values[key] = (value, None if ttl is None else self._now() + ttl)
        self._sweep()

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, ttl)
        return True

    async def take(self, key: str) -> str | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def expire(self, key: str, ttl: float) -> bool:
        value = self._live(key)
        if value is None:
            return False
        self._values[key] = (value, self._now() + ttl)
        return True

    def _group(self, group: str) -> dict[str, float]:
        now = self._now()
        members = self._slots.setdefault(group, {})
        for member in [m for m, exp in members.items() if exp <= now]:
            del members[member]
        return members

    async def slot_acquire(self, group: str, member: str, limit: int, ttl: float) -> bool:
        members = self._group(group)
        if member not in members and len(members) >= limit:
            return False
        members[member] = self._now() + ttl
        return True

    async def slot_touch(self, group: str, member: str, ttl: float) -> bool:
        members = self._group(group)
        if member not in members:
            return False
        members[member] = self._now() + ttl
        return True

    async def slot_release(self, group: str, member: str) -> None:
        self._group(group).pop(member, None)

    async def slot_count(self, group: str) -> int:
        return len(self._group(group))

    async def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> RateWindow:
        allowed = await self._limiter.hit(item, key, cost=cost)
        stats = await self._limiter.get_window_stats(item, key)
        return RateWindow(allowed, item.amount, stats.remaining, stats.reset_time)

    def export(self, prefixes: tuple[str, ...]) -> list[tuple[str, str, float | None]]:
        """Live values under ``prefixes`` with their remaining TTL (for a hand-over)."""
        now = self._now()
        return [
            (key, value, None if expires is None else expires - now)
            for key, (value, expires) in list(self._values.items())
            if key.startswith(prefixes) and (expires is None or expires > now)
        ]

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._values.pop(key, None)

    async def close(self) -> None:
        storage = self._limiter.storage
        if isinstance(storage, MemoryStorage) and storage.timer is not None:
            storage.timer.cancel()
