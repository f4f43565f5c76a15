"""The job queue protocol and its embedded backend; ``JOB_QUEUE`` picks one.

Whatever the backend, the database holds every job and its state; a queue only tells
workers *when* to look. That is what makes both backends lose nothing: the embedded
queue's workers claim due jobs straight from the table, and the Redis queue's
workers re-dispatch from the table whatever Redis forgot (see ``saq_queue``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from ballsy.config import Settings


class JobQueue(Protocol):
    """Tells workers that a job is ready (now, or at ``not_before``)."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def dispatch(self, job_id: str, attempt: int, not_before: datetime | None = None) -> None:
        """Make the job's current attempt known to workers (idempotent per attempt)."""
        ...

    async def close(self) -> None: ...


class EmbeddedQueue:
    """In-process: a dispatch wakes this process's worker, which polls the table.

    Jobs submitted by another process (the CLI, a second web process) are found on the
    next poll, every ``JOB_POLL_SECONDS``.
    """

    def __init__(self) -> None:
        self.wake = asyncio.Event()

    @property
    def name(self) -> str:
        return "embedded"

    async def start(self) -> None:
        return None

    async def dispatch(self, job_id: str, attempt: int, not_before: datetime | None = None) -> None:
        self.wake.set()

    async def close(self) -> None:
        return None


def build_queue(settings: Settings) -> JobQueue:
    if settings.job_queue == "redis":
        from ballsy.jobs.saq_queue import SaqJobQueue

        return SaqJobQueue(settings)
    return EmbeddedQueue()
