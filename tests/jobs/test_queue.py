"""The queue registry and the embedded queue's consume side, on a fake worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ballsy.errors import ConfigurationError
from ballsy.jobs.queue.base import JOB_QUEUES, Heartbeat, build_queue
from ballsy.jobs.queue.embedded import EmbeddedQueue
from ballsy.jobs.queue.redis import SaqJobQueue
from tests.conftest import make_settings


class FakeFeed:
    """Counts what the queue asks of it."""

    concurrency = 1
    poll_seconds = 60.0  # only a wake-up may start a second round within the test

    def __init__(self) -> None:
        self.rounds = 0
        self.claimed = asyncio.Event()

    async def claim_due(self) -> None:
        self.rounds += 1
        self.claimed.set()

    async def run_delivered(self, job_id: str, heartbeat: Heartbeat) -> None:
        raise AssertionError("the embedded queue delivers nothing itself")

    async def reconcile(self) -> int:
        raise AssertionError("the embedded queue forgets nothing")


def test_backends_register_by_name(tmp_path: Path) -> None:
    assert set(JOB_QUEUES.names()) == {"embedded", "redis"}
    assert isinstance(build_queue(make_settings(tmp_path)), EmbeddedQueue)
    redis = make_settings(tmp_path, job_queue="redis", job_redis_url="redis://127.0.0.1:1/0")
    assert isinstance(build_queue(redis), SaqJobQueue)
    with pytest.raises(ConfigurationError, match="JOB_REDIS_URL"):
        build_queue(make_settings(tmp_path, job_queue="redis"))


async def test_embedded_queue_polls_when_dispatched_or_a_slot_frees() -> None:
    queue, feed = EmbeddedQueue(), FakeFeed()
    consuming = asyncio.create_task(queue.consume(feed))

    async def next_round() -> None:
        await asyncio.wait_for(feed.claimed.wait(), 5)
        feed.claimed.clear()

    try:
        await next_round()  # the first look at the database, at once
        await queue.dispatch("job", 0)  # a submission in this process
        await next_round()
        queue.slot_freed()  # a job of this worker ended
        await next_round()
        assert feed.rounds == 3
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
