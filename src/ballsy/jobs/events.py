"""In-process progress notifications: a runner publishes, SSE streams and the CLI wait.

Only a wake-up signal crosses this bus; the job row stays the truth. A web process
whose jobs run in another process (``ballsy worker``) gets no signal and falls back
to re-reading the row every ``poll`` seconds.

Progress moves twice per chunk's worth of work: live, while the chunk decodes
(:class:`LiveProgress` turns the decoder's per-segment reports into at most one row
update and event per ``interval``), and when the chunk is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

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

    def emit(
        self,
        job: TranscriptionJob,
        started: float,
        *,
        processed: float | None = None,
        segments: int | None = None,
    ) -> None:
        """A running job's progress, with the ETA at this attempt's speed so far.

        ``processed`` and ``segments`` are live values inside the chunk being decoded;
        by default, the job's committed ones.
        """
        processed = job.processed_seconds if processed is None else processed
        elapsed = time.monotonic() - started
        done = processed - float(job.timings.get("attempt_from_s", 0.0))
        eta = None
        if job.duration and done > 0 and elapsed > 0:
            eta = round(max(0.0, job.duration - processed) * elapsed / done, 1)
        self.publish(
            JobEvent(
                job_id=job.id,
                status="running",
                processed_seconds=round(processed, 3),
                duration=job.duration,
                chunks_done=job.chunks_done,
                segments_done=job.segments_done if segments is None else segments,
                eta_seconds=eta,
            )
        )

    def publish(self, event: JobEvent) -> None:
        self.bus.publish(event)
        if self.callback is not None:
            self.callback(event)


ShowProgress = Callable[[float, int], Awaitable[None]]


class LiveProgress:
    """Coalesces a decoding thread's progress reports into paced updates on the loop.

    :meth:`report` may be called from any thread, as often as segments come out; the
    latest position is shown (``show``: update the row, publish an event) at most once
    per ``interval`` and never held back longer than that, so while decoding moves,
    updates are no further apart than ``interval`` or the decoder's own steps.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, show: ShowProgress, *, interval: float
    ) -> None:
        self.loop = loop
        self.show = show
        self.interval = interval
        self.shown_at = time.monotonic()
        self._pending: tuple[float, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._showing = False

    def report(self, processed: float, segments: int) -> None:
        """Thread-safe: the decoder reached ``processed`` s with ``segments`` segments."""
        with contextlib.suppress(RuntimeError):  # the loop closed under a dying job
            self.loop.call_soon_threadsafe(self._offer, processed, segments)

    def mark_shown(self) -> None:
        """Progress was just shown another way (a chunk's commit): restart the clock."""
        self.shown_at = time.monotonic()

    async def settle(self) -> None:
        """Drop what is pending and let an update under way finish.

        Called before a chunk commits: a live update landing after the commit would
        move the row's progress back.
        """
        self._pending = None
        task = self._task
        if task is None:
            return
        if not self._showing:
            task.cancel()  # only sleeping towards the next update
        # wait(), not ``await task``: the task's own cancellation is not ours to raise,
        # and a cancellation of the caller must still get through.
        await asyncio.wait([task])

    def close(self) -> None:
        self._pending = None
        if self._task is not None:
            self._task.cancel()

    def _offer(self, processed: float, segments: int) -> None:
        self._pending = (processed, segments)
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending is not None:
                wait = self.shown_at + self.interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue  # settle() may have emptied it meanwhile
                processed, segments = self._pending
                self._pending = None
                self._showing = True
                try:
                    await self.show(processed, segments)
                finally:
                    self._showing = False
                    self.shown_at = time.monotonic()
        finally:
            self._task = None
