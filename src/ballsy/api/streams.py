"""A cap on the server-sent event streams one user holds open (``SSE_STREAMS_PER_USER``).

Each stream holds a connection and, for a job's ``/events``, polls the database every
second; so ``GET /api/events`` and ``GET /api/transcriptions/{id}/events`` share one
per-user count on this instance. The route takes a slot before the response starts (429
``rate_limited`` when none is left) and the stream gives it back when it ends, however
it ends (a stream that never starts gives it back when it is collected).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable

from ballsy.errors import RateLimited
from ballsy.observability.metrics import record_rate_limited

RETRY_AFTER_S = 5

_open: dict[str, int] = {}


def _release(user: str) -> None:
    left = _open.get(user, 0) - 1
    if left > 0:
        _open[user] = left
    else:
        _open.pop(user, None)


def take_slot(user: str, limit: int) -> Callable[[], None]:
    """One of ``user``'s ``limit`` stream slots, or :class:`RateLimited`; returns the
    release (safe to call more than once)."""
    if _open.get(user, 0) >= limit:
        record_rate_limited("sse_stream")
        raise RateLimited(
            f"at most {limit} event streams may be open at once; close one first",
            retry_after=RETRY_AFTER_S,
            detail={"limit": limit},
        )
    _open[user] = _open.get(user, 0) + 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            _release(user)

    return release


def held(stream: AsyncIterator[str], release: Callable[[], None]) -> AsyncIterator[str]:
    """``stream``, giving its slot back when it ends or is dropped."""

    async def wrapped() -> AsyncIterator[str]:
        try:
            async for chunk in stream:
                yield chunk
        finally:
            release()

    generator = wrapped()
    weakref.finalize(generator, release)
    return generator


def open_streams(user: str) -> int:
    """How many streams ``user`` holds open now (for tests and the dashboard)."""
    return _open.get(user, 0)
