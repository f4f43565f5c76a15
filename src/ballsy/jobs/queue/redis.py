"""``redis``: a SAQ queue on Redis feeding ``ballsy worker`` processes.

A SAQ job carries only a job id; its key is ``<job id>:<attempt>``, so dispatching
the same attempt twice is a no-op (SAQ ignores a key it still holds) while a new
attempt — a retry, or a takeover after a crash — is never blocked by the leftovers
of the old one.

Redis may lose everything (a restart without persistence): the workers'
reconciler (run beside the SAQ worker by :meth:`SaqJobQueue.consume`) re-dispatches
every due job from the database each ``JOB_POLL_SECONDS``, so a wiped queue refills
itself and no job is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq import Queue, Worker
from saq.queue.redis import RedisQueue

from ballsy.config import Settings
from ballsy.errors import ConfigurationError
from ballsy.jobs.queue.base import JOB_QUEUES, Heartbeat, JobFeed
from ballsy.observability.logging import get_logger

log = get_logger("ballsy.jobs.saq")
FUNCTION = "transcribe"
_REDIS_DOWN_PAUSE = 1.0

JobFunction = Callable[[str, Heartbeat], Awaitable[object]]


class _PatientRedisQueue(RedisQueue):
    """SAQ's Redis queue, waiting a moment when Redis is down instead of spinning.

    SAQ's worker calls ``dequeue`` again as soon as it fails; with Redis gone that
    is a busy loop of connection errors.
    """

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Any:  # noqa: ASYNC109
        try:
            return await super().dequeue(timeout, poll_interval)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("ballsy.jobs.queue_unreachable", error=type(exc).__name__)
            await asyncio.sleep(_REDIS_DOWN_PAUSE)
            return None


class SaqJobQueue:
    def __init__(self, settings: Settings) -> None:
        url = settings.job_redis_url or settings.redis_url
        if not url:
            raise ConfigurationError("JOB_QUEUE=redis needs JOB_REDIS_URL or REDIS_URL")
        self.settings = settings
        name = settings.redis_key_prefix + settings.job_queue_name
        self.queue: Queue = _PatientRedisQueue.from_url(url, name=name)

    @property
    def name(self) -> str:
        return "redis"

    async def start(self) -> None:
        await self.queue.connect()

    async def dispatch(self, job_id: str, attempt: int, not_before: datetime | None = None) -> None:
        await self.queue.enqueue(
            FUNCTION,
            key=f"{job_id}:{attempt}",
            job_id=job_id,
            timeout=0,  # hours of audio are fine; liveness is the database lease
            # SAQ sweeps a job whose worker stopped beating for this long (a dead
            # worker's entry); the database lease decides who may run it.
            heartbeat=int(max(60, 4 * self.settings.job_lease_seconds)),
            retries=1,  # retries are ours (with backoff, counted in the database)
            scheduled=int(not_before.timestamp()) if not_before else 0,
        )

    def worker(self, run: JobFunction, concurrency: int) -> Worker[Any]:
        """A SAQ worker that calls ``run(job_id, heartbeat)`` for each delivery."""

        async def transcribe(ctx: dict[str, Any], *, job_id: str) -> None:
            job = ctx["job"]

            async def heartbeat() -> None:
                await job.update()

            await run(job_id, heartbeat)

        worker: Worker[Any] = Worker(
            self.queue,
            functions=[(FUNCTION, transcribe)],
            concurrency=concurrency,
            timers={"sweep": 30, "abort": 1, "schedule": 1, "worker_info": 10},
            shutdown_grace_period_s=2,
        )
        # The CLI handles signals (it releases running jobs first).
        worker.SIGNALS = []
        return worker

    async def consume(self, feed: JobFeed) -> None:
        saq_worker = self.worker(feed.run_delivered, feed.concurrency)
        reconciler = asyncio.create_task(_reconcile_loop(feed))
        try:
            await saq_worker.start()  # until cancelled; it stops itself on the way out
        finally:
            with contextlib.suppress(Exception):
                await saq_worker.stop()
            reconciler.cancel()
            await asyncio.gather(reconciler, return_exceptions=True)

    def slot_freed(self) -> None:
        return None  # SAQ delivers the next job to the free slot itself

    async def close(self) -> None:
        await self.queue.disconnect()


async def _reconcile_loop(feed: JobFeed) -> None:
    """What Redis does not hold (never dispatched, lost in a restart, orphaned by a
    dead worker) is dispatched again from the database."""
    while True:
        try:
            await feed.reconcile()
        except Exception as exc:  # Redis or the database away: try again next round
            log.warning("ballsy.jobs.reconcile_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(feed.poll_seconds)


JOB_QUEUES.register(
    "redis",
    SaqJobQueue,
    description="a SAQ queue on Redis feeds separate `ballsy worker` processes",
)
