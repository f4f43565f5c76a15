"""Time as the conversation engine sees it: a port, so tests run in virtual time."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time: ``perf_counter`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.perf_counter()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def elapsed_ms(clock: Clock, start: float) -> float:
    return round((clock.now() - start) * 1000, 1)
