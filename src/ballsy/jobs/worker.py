"""A job worker: the loops that keep ``JOB_CONCURRENCY`` jobs running in this process.

- **embedded queue**: a poll loop claims due jobs (and jobs whose worker died) from
  the database, woken early by submissions in this process.
- **redis queue**: a SAQ worker runs what Redis delivers, and a reconciler
  re-dispatches from the database what Redis does not hold (never dispatched, lost
  in a Redis restart, orphaned by a dead worker).
- both: queue-depth metrics and retention.

On shutdown, running jobs are handed back (queued again, attempt not counted): their
finished chunks are kept, so the next worker loses only the chunk in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from ballsy.config import Settings
from ballsy.jobs.events import ProgressBus
from ballsy.jobs.lane import BatchLane
from ballsy.jobs.queue import EmbeddedQueue, JobQueue
from ballsy.jobs.retention import purge_expired
from ballsy.jobs.runner import JobRunner
from ballsy.jobs.storage import JobStorage
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.scope import ALL_USERS
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import utcnow

log = get_logger("ballsy.jobs.worker")
_MAINTENANCE_SECONDS = 60.0
_RETENTION_EVERY = 10  # maintenance rounds between retention passes
_RECONCILE_BATCH = 100


def worker_identity() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobWorker:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        media: JobStorage,
        outputs: JobStorage,
        lane: BatchLane,
        bus: ProgressBus,
        queue: JobQueue,
    ) -> None:
        self.settings = settings
        self.database = database
        self.media = media
        self.outputs = outputs
        self.queue = queue
        self.owner = worker_identity()
        self.runner = JobRunner(
            settings, database, media, outputs, lane, bus,
            owner=self.owner, requeue=queue.dispatch,
        )  # fmt: skip
        self.running: dict[str, asyncio.Task[object]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._saq: object | None = None
        self._stop_saq: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        if isinstance(self.queue, EmbeddedQueue):
            self._loops.append(asyncio.create_task(self._poll_loop(self.queue)))
        else:
            from ballsy.jobs.saq_queue import SaqJobQueue

            assert isinstance(self.queue, SaqJobQueue)
            saq_worker = self.queue.worker(self._run_delivered, self.settings.job_concurrency)
            self._stop_saq = saq_worker.stop
            self._loops.append(asyncio.create_task(saq_worker.start()))
            self._loops.append(asyncio.create_task(self._reconcile_loop()))
        self._loops.append(asyncio.create_task(self._maintenance_loop()))
        log.info("ballsy.jobs.worker_started", owner=self.owner, queue=self.queue.name,
                 concurrency=self.settings.job_concurrency)  # fmt: skip

    async def stop(self) -> None:
        if self._stop_saq is not None:
            with contextlib.suppress(Exception):
                await self._stop_saq()
        for task in [*self.running.values(), *self._loops]:
            task.cancel()
        await asyncio.gather(*self.running.values(), *self._loops, return_exceptions=True)
        self.running.clear()
        self._loops.clear()
        await self.runner.close()

    # --- embedded ----------------------------------------------------------------------

    async def _poll_loop(self, queue: EmbeddedQueue) -> None:
        while True:
            queue.wake.clear()
            try:
                await self._claim_free_slots()
            except Exception as exc:  # the database may be back on the next round
                log.warning("ballsy.jobs.poll_failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.wake.wait(), self.settings.job_poll_seconds)

    async def _claim_free_slots(self) -> None:
        free = self.settings.job_concurrency - len(self.running)
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
            if isinstance(self.queue, EmbeddedQueue):
                self.queue.wake.set()  # a slot is free: look for the next job now

        task.add_done_callback(done)

    # --- redis -------------------------------------------------------------------------

    async def _run_delivered(self, job_id: str, heartbeat: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.running[job_id] = task
        try:
            await self.runner.run(job_id, heartbeat=heartbeat)
        finally:
            self.running.pop(job_id, None)

    async def _reconcile_loop(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # Redis or the database away: try again next round
                log.warning("ballsy.jobs.reconcile_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.settings.job_poll_seconds)

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

    # --- both --------------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        rounds = 0
        while True:
            try:
                async with self.database.transaction() as session:
                    counts = await JobRepository(session).count_by_status()
                metrics.JOB_QUEUE_DEPTH.labels(self.queue.name).set(counts.get("queued", 0))
                if rounds % _RETENTION_EVERY == 0:
                    await purge_expired(
                        self.database, self.media, self.outputs,
                        retention_hours=self.settings.job_retention_hours, now=utcnow(),
                    )  # fmt: skip
            except Exception as exc:
                log.warning("ballsy.jobs.maintenance_failed", error=f"{type(exc).__name__}: {exc}")
            rounds += 1
            await asyncio.sleep(_MAINTENANCE_SECONDS)
