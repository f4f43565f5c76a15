"""In-process progress notifications: a runner publishes, SSE streams and the CLI wait.

Only a wake-up signal crosses this bus; the job row stays the truth. A web process
whose jobs run in another process (``ballsy worker``) gets no signal and falls back
to re-reading the row every ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from ballsy.jobs.options import JobEvent


class ProgressBus:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self.published = 0

    def publish(self, event: JobEvent) -> None:
        self.published += 1
        for waiter in self._waiters.get(event.job_id, ()):
            waiter.set()

    async def wait(self, job_id: str, within: float) -> None:
        """Return at the job's next event, or after ``within`` seconds."""
        waiter = asyncio.Event()
        self._waiters[job_id].add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), within)
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[job_id]
