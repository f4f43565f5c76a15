"""A real ``ballsy worker`` killed with SIGKILL mid-job; a new worker finishes the job.

The finished transcript must be the one an uninterrupted run produces: every chunk
exactly once, chunks meeting sample for sample, segments in order with no overlap.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ballsy.config import Settings
from ballsy.jobs.chunking import RATE
from ballsy.jobs.options import JobOptions
from ballsy.jobs.results import segments_of
from ballsy.jobs.service import JobService
from ballsy.scope import ALL_USERS
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionChunk, TranscriptionJob
from ballsy.store.repositories import UserRepository
from tests.jobs.conftest import job_settings, speech_wav
from tests.servers import BALLSY

pytestmark = pytest.mark.slow


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        {
            "BALLSY_DATA_DIR": str(settings.data_dir),
            "JOB_CHUNK_SECONDS": str(settings.job_chunk_seconds),
            "JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
            "JOB_POLL_SECONDS": str(settings.job_poll_seconds),
            "JOB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BALLSY), "worker"], cwd=settings.data_dir, env=env, stdout=out, stderr=out
        )


async def read_job(
    database: Database, job_id: str
) -> tuple[TranscriptionJob, list[TranscriptionChunk]]:
    async with database.transaction() as session:
        repo = JobRepository(session)
        job = await repo.get(job_id, ALL_USERS)
        assert job is not None
        return job, await repo.chunks(job_id)


async def wait_until(
    database: Database, job_id: str, done: object, log: Path, limit: float = 90
) -> TranscriptionJob:
    deadline = time.monotonic() + limit
    while True:
        job, _ = await read_job(database, job_id)
        if done(job):  # type: ignore[operator]
            return job
        if time.monotonic() > deadline:
            tail = await asyncio.to_thread(log.read_text, errors="replace")
            raise AssertionError(tail[-3000:])
        await asyncio.sleep(0.05)


@pytest.fixture
async def jobs(tmp_path: Path) -> AsyncIterator[tuple[Settings, Database, JobService, str]]:
    settings = job_settings(tmp_path / "data", job_lease_seconds=2.0)
    settings.data_dir.mkdir(parents=True)
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create("resume-test")
    yield settings, database, service, user.id
    await service.close()
    await database.dispose()


async def submit(service: JobService, user_id: str, path: Path) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield await asyncio.to_thread(path.read_bytes)

    view = await service.submit_upload(
        user_id, chunks(), filename=path.name, options=JobOptions(model="tiny.en")
    )
    return view.id


async def test_kill_9_mid_job_resumes_from_the_last_chunk(
    jobs: tuple[Settings, Database, JobService, str], tmp_path: Path
) -> None:
    settings, database, service, user_id = jobs
    recording, _ = speech_wav(tmp_path / "talk.wav", 150)
    job_id = await submit(service, user_id, recording)
    log = tmp_path / "workers.log"

    first = start_worker(settings, log)
    try:
        await wait_until(database, job_id, lambda j: j.chunks_done >= 3, log)
    finally:
        first.send_signal(signal.SIGKILL)  # no goodbye: the lease is left to expire
        first.wait(timeout=10)
    killed, kept = await read_job(database, job_id)
    assert killed.status == "running" and killed.lease_owner is not None
    total_chunks_expected = killed.duration / settings.job_chunk_seconds  # type: ignore[operator]
    assert 3 <= len(kept) < total_chunks_expected - 1, "the kill must land mid-job"

    second = start_worker(settings, log)
    try:
        done = await wait_until(database, job_id, lambda j: j.status in ("done", "failed"), log)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    assert done.status == "done", done.error
    assert done.attempts == 2  # the killed run and the one that finished
    job, chunks = await read_job(database, job_id)
    # The chunks written before the kill survive untouched: resumed, not restarted.
    assert [(c.index, c.start_sample, c.end_sample, c.segments) for c in chunks[: len(kept)]] == [
        (c.index, c.start_sample, c.end_sample, c.segments) for c in kept
    ]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_sample == 0
    for earlier, later in itertools.pairwise(chunks):
        assert earlier.end_sample == later.start_sample
    assert job.duration == pytest.approx(chunks[-1].end_sample / RATE)
    segments = segments_of(chunks)
    for before, after in itertools.pairwise(segments):
        assert before.start <= before.end <= after.start, (before, after)
    # The killed worker's live progress inside its unfinished chunk is not counted again.
    assert job.segments_done == len(segments)

    # The same recording transcribed in one go by a worker like the two above: the same
    # transcript. (A worker process, not this one: decoding is deterministic for a given
    # process set-up, but this test process's differs — its VAD and model threads —
    # and Whisper then closes a segment elsewhere now and then.)
    reference_id = await submit(service, user_id, recording)
    third = start_worker(settings, log)
    try:
        finished = await wait_until(
            database, reference_id, lambda j: j.status in ("done", "failed"), log
        )
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=20)
    assert finished.status == "done", finished.error
    _, reference_chunks = await read_job(database, reference_id)
    assert [(c.start_sample, c.end_sample) for c in reference_chunks] == [
        (c.start_sample, c.end_sample) for c in chunks
    ]
    reference = segments_of(reference_chunks)
    assert [s.text for s in segments] == [s.text for s in reference]
    for mine, theirs in zip(segments, reference, strict=True):
        assert mine.start == pytest.approx(theirs.start, abs=0.05)
        assert mine.end == pytest.approx(theirs.end, abs=0.05)
