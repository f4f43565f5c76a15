"""The job queue protocol, both of its sides, and the backend registry.

Whatever the backend, the database holds every job and its state; a queue only tells
workers *when* to look. That is what makes the backends lose nothing: the embedded
queue's workers claim due jobs straight from the table, and the Redis queue's
workers re-dispatch from the table whatever Redis forgot (see ``redis``).

The dispatch side is what the API calls when a job is submitted or retried; the
consume side is what a worker (:class:`JobFeed`) is fed by, each backend its own way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from ballsy.config import Settings
from ballsy.providers import Registry

Heartbeat = Callable[[], Awaitable[None]]
"""Tells the queue a delivered job is still being worked on."""


class JobFeed(Protocol):
    """The worker a queue feeds (``JobWorker``): what a consume loop may call."""

    @property
    def concurrency(self) -> int:
        """Jobs this worker runs at once."""
        ...

    @property
    def poll_seconds(self) -> float:
        """How often to look at the database for due, orphaned or re-queued jobs."""
        ...

    async def claim_due(self) -> None:
        """Start due jobs (and jobs whose worker died) from the database, in free slots."""
        ...

    async def run_delivered(self, job_id: str, heartbeat: Heartbeat) -> None:
        """Run a job the queue delivered, until it ends."""
        ...

    async def reconcile(self) -> int:
        """Dispatch every due or orphaned job again; how many were found."""
        ...


class JobQueue(Protocol):
    """Tells workers that a job is ready (now, or at ``not_before``), and feeds them."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def dispatch(self, job_id: str, attempt: int, not_before: datetime | None = None) -> None:
        """Make the job's current attempt known to workers (idempotent per attempt)."""
        ...

    async def consume(self, feed: JobFeed) -> None:
        """Feed ``feed`` jobs until cancelled; on cancellation, stop delivering first."""
        ...

    def slot_freed(self) -> None:
        """A job of this process's worker ended: a polling queue looks for the next now."""
        ...

    async def close(self) -> None: ...


QueueFactory = Callable[[Settings], JobQueue]

JOB_QUEUES: Registry[QueueFactory] = Registry("job queue", package="ballsy.jobs.queue")


def build_queue(settings: Settings) -> JobQueue:
    return JOB_QUEUES.get(settings.job_queue)(settings)
