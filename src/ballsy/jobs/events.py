"""In-process progress notifications: a runner publishes, SSE streams and the CLI wait.

Only a wake-up signal crosses this bus; the job row stays the truth. A web process
whose jobs run in another process (``ballsy worker``) gets no signal and falls back
to re-reading the row every ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable

from ballsy.jobs.options import JobEvent
from ballsy.store.models import TranscriptionJob

EventSink = Callable[[JobEvent], None]


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


class ProgressSink:
    """Fans a runner's progress out to the in-process bus and an optional callback."""

    def __init__(self, bus: ProgressBus, callback: EventSink | None) -> None:
        self.bus = bus
        self.callback = callback

    def emit(self, job: TranscriptionJob, started: float) -> None:
        """A running job's progress, with the ETA at this attempt's speed so far."""
        elapsed = time.monotonic() - started
        done = job.processed_seconds - float(job.timings.get("attempt_from_s", 0.0))
        eta = None
        if job.duration and done > 0 and elapsed > 0:
            eta = round(max(0.0, job.duration - job.processed_seconds) * elapsed / done, 1)
        self.publish(
            JobEvent(
                job_id=job.id,
                status="running",
                processed_seconds=round(job.processed_seconds, 3),
                duration=job.duration,
                chunks_done=job.chunks_done,
                segments_done=job.segments_done,
                eta_seconds=eta,
            )
        )

    def publish(self, event: JobEvent) -> None:
        self.bus.publish(event)
        if self.callback is not None:
            self.callback(event)
