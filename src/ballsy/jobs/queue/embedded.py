"""``embedded``: jobs wait in the database and this process's worker polls for them.

A dispatch wakes this process's worker; jobs submitted by another process (the CLI, a
second web process) are found on the next poll, every ``JOB_POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from ballsy.config import Settings
from ballsy.jobs.queue.base import JOB_QUEUES, JobFeed
from ballsy.observability.logging import get_logger

log = get_logger("ballsy.jobs.worker")


class EmbeddedQueue:
    def __init__(self) -> None:
        self.wake = asyncio.Event()

    @property
    def name(self) -> str:
        return "embedded"

    async def start(self) -> None:
        return None

    async def dispatch(self, job_id: str, attempt: int, not_before: datetime | None = None) -> None:
        self.wake.set()

    async def consume(self, feed: JobFeed) -> None:
        while True:
            self.wake.clear()
            try:
                await feed.claim_due()
            except Exception as exc:  # the database may be back on the next round
                log.warning("ballsy.jobs.poll_failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), feed.poll_seconds)

    def slot_freed(self) -> None:
        self.wake.set()

    async def close(self) -> None:
        return None


def build_embedded(settings: Settings) -> EmbeddedQueue:
    return EmbeddedQueue()


JOB_QUEUES.register(
    "embedded", build_embedded, description="jobs wait in the database and run in this process"
)
