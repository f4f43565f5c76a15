"""The SAQ queue on a Redis of our own: restarted (losing everything) with jobs queued.

None may be lost: the database holds every job, and the worker's reconciler
dispatches again what Redis forgot. The shared Redis on 6379 is never touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ballsy.config import Settings
from ballsy.jobs.options import JobOptions
from ballsy.jobs.queue.redis import SaqJobQueue
from ballsy.jobs.service import JobService
from ballsy.scope import ALL_USERS
from ballsy.store.db import Database
from ballsy.store.repositories import UserRepository
from tests.jobs.conftest import job_settings, speech_wav
from tests.servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


async def submit(service: JobService, user_id: str, path: Path) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield await asyncio.to_thread(path.read_bytes)

    view = await service.submit_upload(
        user_id, chunks(), filename=path.name, options=JobOptions(model="tiny.en")
    )
    return view.id


async def test_redis_restart_loses_no_queued_job(redis_server: RedisServer, tmp_path: Path) -> None:
    settings: Settings = job_settings(
        tmp_path / "data", job_queue="redis", job_redis_url=redis_server.url
    )
    database = Database(settings)
    await database.migrate()
    web = JobService(settings, database)  # a web process: no worker in it
    await web.start(run_worker=False)
    assert isinstance(web.queue, SaqJobQueue)
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create("redis-test")
    recording, _ = speech_wav(tmp_path / "talk.wav", 8)
    worker: JobService | None = None
    try:
        queued = [await submit(web, user.id, recording) for _ in range(2)]
        assert await web.queue.queue.count("queued") == 2

        redis_server.stop()  # a crash, then an empty Redis (no persistence)
        late = await submit(web, user.id, recording)  # accepted while Redis is down
        redis_server.start()
        assert await web.queue.queue.count("queued") == 0  # Redis forgot them all

        worker = JobService(settings, database)
        await worker.start(run_worker=True)
        deadline = time.monotonic() + 60
        for job_id in [*queued, late]:
            while (view := await web.get(ALL_USERS, job_id)).status != "done":
                assert view.status in ("queued", "running"), view
                assert time.monotonic() < deadline, view
                await asyncio.sleep(0.1)
            assert view.segments_done > 0 and view.attempts == 1
    finally:
        if worker is not None:
            await worker.close()
        await web.close()
        await database.dispose()
