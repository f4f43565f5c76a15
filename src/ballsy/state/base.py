"""The state protocol every backend implements, and the values it returns.

The operations are the few primitives the features need, each atomic on its own:
string values with a TTL (sessions, tickets, cache), take-once values (tickets),
set-if-absent (refresh-token reuse), counted slots with expiry (concurrent voice
sessions) and rate-limit hits (the ``limits`` library's strategies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

BackendName = Literal["memory", "redis"]
RateLimitStrategy = Literal["moving-window", "fixed-window"]


@dataclass(frozen=True, slots=True)
class RateWindow:
    """The outcome of one rate-limit hit and the window it was counted in."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when a slot frees up

    def headers(self, now: float) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (Reset in seconds from now, like GitHub's -After)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_in(now)),
        }

    def reset_in(self, now: float) -> int:
        return max(1, int(self.reset_at - now + 0.999))


def limiter_for(strategy: RateLimitStrategy, storage: Storage) -> RateLimiter:
    if strategy == "fixed-window":
        return FixedWindowRateLimiter(storage)
    return MovingWindowRateLimiter(storage)


class StateBackend(Protocol):
    """What sessions, limits, tickets and the cache need from a store."""

    @property
    def name(self) -> BackendName: ...

    async def ping(self) -> None:
        """Raise if the backend cannot answer."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None) -> None: ...

    async def set_if_absent(self, key: str, value: str, ttl: float) -> bool:
        """Store only if nothing is there; True when this call stored it."""
        ...

    async def take(self, key: str) -> str | None:
        """Read and delete in one step, so a value is handed out at most once."""
        ...

    async def delete(self, key: str) -> None: ...

    async def expire(self, key: str, ttl: float) -> bool:
        """Extend a value's life; False when it is already gone."""
        ...

    async def slot_acquire(self, group: str, member: str, limit: int, ttl: float) -> bool:
        """Hold one of ``limit`` slots in ``group`` for ``ttl`` s (expired ones are freed)."""
        ...

    async def slot_touch(self, group: str, member: str, ttl: float) -> bool: ...

    async def slot_release(self, group: str, member: str) -> None: ...

    async def slot_count(self, group: str) -> int: ...

    async def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> RateWindow:
        """Count ``cost`` against ``item`` for ``key`` unless that would exceed it."""
        ...

    async def close(self) -> None: ...
