"""A job worker: keeps ``JOB_CONCURRENCY`` jobs running in this process.

The queue feeds it (:meth:`JobQueue.consume`, the worker being its :class:`JobFeed`):

- **embedded queue**: a poll loop claims due jobs (and jobs whose worker died) from
  the database, woken early by submissions in this process and by a freed slot.
- **redis queue**: a SAQ worker runs what Redis delivers, and a reconciler
  re-dispatches from the database what Redis does not hold (never dispatched, lost
  in a Redis restart, orphaned by a dead worker).
- both: queue-depth metrics and retention, and the webhook outbox loop
  (:mod:`ballsy.jobs.outbox`), here.

On shutdown, running jobs are handed back (queued again, attempt not counted): their
finished chunks are kept, so the next worker loses only the chunk in progress.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

from ballsy.jobs.context import JobContext
from ballsy.jobs.outbox import WebhookOutbox
from ballsy.jobs.queue.base import Heartbeat, JobQueue
from ballsy.jobs.retention import purge_expired
from ballsy.jobs.runner import JobRunner
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.scope import ALL_USERS
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import utcnow

log = get_logger("ballsy.jobs.worker")
_MAINTENANCE_SECONDS = 60.0
_RETENTION_EVERY = 10  # maintenance rounds between retention passes
_RECONCILE_BATCH = 100


def worker_identity() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobWorker:
    def __init__(self, context: JobContext, queue: JobQueue) -> None:
        self.context = context
        self.database = context.database
        self.queue = queue
        self.owner = worker_identity()
        self.outbox = WebhookOutbox(context, owner=self.owner)
        self.runner = JobRunner(
            context, owner=self.owner, requeue=queue.dispatch, webhook_ready=self.outbox.wake
        )
        self.running: dict[str, asyncio.Task[object]] = {}
        self._consuming: asyncio.Task[None] | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._delivering: asyncio.Task[None] | None = None

    @property
    def concurrency(self) -> int:
        return self.context.settings.job_concurrency

    @property
    def poll_seconds(self) -> float:
        return self.context.settings.job_poll_seconds

    async def start(self) -> None:
        self._consuming = asyncio.create_task(self.queue.consume(self))
        self._maintenance = asyncio.create_task(self._maintenance_loop())
        self._delivering = asyncio.create_task(self.outbox.run())
        log.info(
            "ballsy.jobs.worker_started",
            owner=self.owner,
            queue=self.queue.name,
            concurrency=self.concurrency,
        )

    async def stop(self) -> None:
        # The queue stops delivering first, then the running jobs are handed back.
        if self._consuming is not None:
            self._consuming.cancel()
            await asyncio.gather(self._consuming, return_exceptions=True)
        # A webhook being sent is handed back too: the next start sends it again.
        loops = [task for task in (self._maintenance, self._delivering) if task is not None]
        tasks = [*self.running.values(), *loops]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()
        self._consuming = self._maintenance = self._delivering = None

    # --- what a queue feeds (JobFeed) --------------------------------------------------

    async def claim_due(self) -> None:
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        async with self.database.transaction() as session:
            ids = await JobRepository(session).claimable_ids(
                utcnow(), limit=free + len(self.running)
            )
        for job_id in [i for i in ids if i not in self.running][:free]:
            self._spawn(job_id)

    def _spawn(self, job_id: str) -> None:
        task: asyncio.Task[object] = asyncio.create_task(self.runner.run(job_id))
        self.running[job_id] = task

        def done(_: asyncio.Task[object]) -> None:
            self.running.pop(job_id, None)
            self.queue.slot_freed()

        task.add_done_callback(done)

    async def run_delivered(self, job_id: str, heartbeat: Heartbeat) -> None:
        task = asyncio.current_task()
        if task is not None:  # always: SAQ runs each delivery in a task of its own
            self.running[job_id] = task
        try:
            await self.runner.run(job_id, heartbeat=heartbeat)
        finally:
            self.running.pop(job_id, None)

    async def reconcile(self) -> int:
        """Dispatch every due or orphaned job again; SAQ drops what it already holds."""
        async with self.database.transaction() as session:
            repo = JobRepository(session)
            ids = await repo.claimable_ids(utcnow(), limit=_RECONCILE_BATCH)
            jobs = [await repo.get(job_id, ALL_USERS) for job_id in ids]
        for job in jobs:
            if job is not None and job.id not in self.running:
                await self.queue.dispatch(job.id, job.attempts)
        return len(jobs)

    # --- maintenance -------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        rounds = 0
        while True:
            try:
                async with self.database.transaction() as session:
                    counts = await JobRepository(session).count_by_status()
                metrics.JOB_QUEUE_DEPTH.labels(self.queue.name).set(counts.get("queued", 0))
                if rounds % _RETENTION_EVERY == 0:
                    await purge_expired(self.context, now=utcnow())
            except Exception as exc:
                log.warning("ballsy.jobs.maintenance_failed", error=f"{type(exc).__name__}: {exc}")
            rounds += 1
            await asyncio.sleep(_MAINTENANCE_SECONDS)
