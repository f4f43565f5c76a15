"""The webhook outbox: a job's webhook survives a restart of the service, is retried
until the receiver takes it, and two delivery loops on one database send it once.

Real parts throughout: the job service and its embedded worker on SQLite (the first
life in a process of its own that exits, the second in this one), the runner ending a
real job, PostgreSQL for the two loops, and an HTTP receiver on a real socket."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from ballsy.config import Settings
from ballsy.jobs.context import JobContext
from ballsy.jobs.options import JobOptions
from ballsy.jobs.outbox import WebhookOutbox
from ballsy.jobs.service import JobService
from ballsy.scope import ALL_USERS
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionJob, WebhookDelivery, new_id, utcnow
from ballsy.store.repositories import UserRepository
from tests.conftest import FIXTURES
from tests.fake_openai import free_port
from tests.jobs.conftest import job_settings
from tests.servers import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # status per call; then 204
    calls: list[str] = field(default_factory=list)  # X-Ballsy-Delivery of each call
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    state = Receiver(f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(state.delay)
            with state.lock:
                state.calls.append(self.headers["x-ballsy-delivery"])
                code = state.answers.pop(0) if state.answers else 204
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _failing_job(service: JobService, database: Database, hook: str) -> str:
    """A job whose recording is gone before it runs: the runner ends it as failed."""
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create("outbox-" + new_id()[:8])
    view = await service.submit_upload(
        user.id, _chunks((FIXTURES / "jfk.flac").read_bytes()), filename="jfk.flac",
        options=JobOptions(model=service.settings.stt_model), webhook_url=hook, dispatch=False,
    )  # fmt: skip
    async with database.transaction() as session:
        job = await JobRepository(session).get(view.id, ALL_USERS)
    assert job is not None
    await service.media.delete(job.media_key)
    return view.id


async def _job(database: Database, job_id: str) -> TranscriptionJob:
    async with database.transaction() as session:
        job = await JobRepository(session).get(job_id, ALL_USERS)
    assert job is not None
    return job


async def _deliveries(database: Database) -> list[WebhookDelivery]:
    async with database.transaction() as session:
        return list((await session.execute(select(WebhookDelivery))).scalars().all())


async def _job_in(settings: Settings, job_id: str) -> TranscriptionJob:
    database = Database(settings)
    try:
        return await _job(database, job_id)
    finally:
        await database.dispose()


async def _until(check: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def _settings(tmp_path: Path, url: str | None = None) -> Settings:
    return job_settings(
        tmp_path, url, job_max_attempts=1, job_webhook_attempts=10,
        job_webhook_secret="outbox-test-secret",
    )  # fmt: skip


async def _first_life(data_dir: str, hook: str) -> None:
    """Run in a process of its own: a job ends, its webhook is tried, the process exits
    (the receiver is down all the while). Prints the job's id."""
    settings = _settings(Path(data_dir))
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    await service.start(run_worker=True)
    try:
        job_id = await _failing_job(service, database, hook)
        await service.queue.dispatch(job_id, 0)

        async def ended() -> bool:
            return (await _job(database, job_id)).status == "failed"

        await _until(ended)
        await asyncio.sleep(0.5)  # its first try
    finally:
        await service.close()
        await database.dispose()
    print(job_id)


async def test_a_webhook_pending_at_shutdown_is_delivered_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = _settings(tmp_path)
    receiver.answers = [503] * 1000  # down for as long as the first process runs
    code = (
        "import asyncio, sys; from tests.jobs.test_webhook_outbox import _first_life; "
        "asyncio.run(_first_life(sys.argv[1], sys.argv[2]))"
    )
    first_life = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code, str(tmp_path), receiver.url],
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first_life.returncode == 0, first_life.stderr[-3000:]
    job_id = first_life.stdout.strip().splitlines()[-1]
    first = list(receiver.calls)
    assert first, "the first process never tried the webhook"
    assert (await _job_in(settings, job_id)).webhook_status == "pending"
    receiver.answers.clear()  # the receiver is back

    database = Database(settings)  # a new start: nothing of the first one in memory
    service = JobService(settings, database)
    await service.start(run_worker=True)
    try:

        async def delivered() -> bool:
            return (await _job(database, job_id)).webhook_status == "delivered"

        await _until(delivered)
        job = await _job(database, job_id)
        assert job.status == "failed" and job.error_code == "media_missing"
        assert len(receiver.calls) > len(first) and set(receiver.calls) == {first[0]}
        [row] = await _deliveries(database)
        assert row.status == "delivered" and row.payload["job"]["id"] == job_id
        assert row.payload["event"] == "transcription.failed"
    finally:
        await service.close()
        await database.dispose()


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = _settings(tmp_path)
    receiver.answers = [500, 502]
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    await service.start(run_worker=True)
    try:
        job_id = await _failing_job(service, database, receiver.url)
        await service.queue.dispatch(job_id, 0)

        async def delivered() -> bool:
            return (await _job(database, job_id)).webhook_status == "delivered"

        await _until(delivered)
        assert len(receiver.calls) == 3 and len(set(receiver.calls)) == 1  # one delivery id
        [row] = await _deliveries(database)
        assert (row.status, row.attempts) == ("delivered", 3)
    finally:
        await service.close()
        await database.dispose()


async def test_a_refused_webhook_is_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    settings = _settings(tmp_path)
    receiver.answers = [410]
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    await service.start(run_worker=True)
    try:
        job_id = await _failing_job(service, database, receiver.url)
        await service.queue.dispatch(job_id, 0)

        async def settled() -> bool:
            return (await _job(database, job_id)).webhook_status == "failed"

        await _until(settled)
        await asyncio.sleep(1.5)
        assert len(receiver.calls) == 1
    finally:
        await service.close()
        await database.dispose()


async def test_two_delivery_loops_on_one_postgres_database_send_each_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = await create_database()
    settings = _settings(tmp_path, url)
    receiver.delay = 0.2  # slow enough for both loops to see the same rows due
    first, second = Database(settings), Database(settings)  # two engines, two pools
    await first.migrate()
    ids = [new_id() for _ in range(12)]
    try:
        async with first.transaction() as session:
            for delivery_id in ids:
                session.add(
                    WebhookDelivery(
                        id=delivery_id, job_id=new_id(), url=receiver.url, event="x",
                        payload={"event": "x"}, status="pending", attempts=0,
                        next_attempt_at=utcnow(), created_at=utcnow(), updated_at=utcnow(),
                    )
                )  # fmt: skip
        loops = [
            WebhookOutbox(JobContext(settings, db, None, None, None, None), owner=owner)  # type: ignore[arg-type]
            for db, owner in ((first, "worker-a"), (second, "worker-b"))
        ]
        tasks = [asyncio.create_task(loop.run()) for loop in loops]
        try:

            async def all_delivered() -> bool:
                rows = await _deliveries(first)
                return all(row.status == "delivered" for row in rows)

            await _until(all_delivered)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert sorted(receiver.calls) == sorted(ids)  # every one, none twice
    finally:
        await first.dispose()
        await second.dispose()
        await drop_database(url)
