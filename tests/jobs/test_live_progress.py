"""Progress inside a chunk: the row and the events move per decoded segment batch.

A chunk's segments are still committed in one transaction; between commits the
runner shows the decoder's position (``LiveProgress``), and a resumed job counts
only what was committed.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ballsy.jobs import runner
from ballsy.jobs.events import LiveProgress
from ballsy.jobs.options import JobEvent, JobOptions
from ballsy.jobs.results import JobView, segments_of
from ballsy.jobs.service import JobService
from ballsy.scope import ALL_USERS
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionJob, utcnow
from ballsy.store.repositories import UserRepository
from tests.conftest import BACKENDS
from tests.jobs.conftest import job_settings
from tests.servers import create_database, drop_database

# --- LiveProgress alone, with a recording show() ----------------------------------------


async def test_reports_from_a_thread_are_paced_and_the_latest_is_never_held_back() -> None:
    shown: list[tuple[float, float, int]] = []

    async def show(processed: float, segments: int) -> None:
        shown.append((time.monotonic(), processed, segments))

    live = LiveProgress(asyncio.get_running_loop(), show, interval=0.1)

    def decoder() -> None:  # a burst per "batch", batches 30 ms apart
        for batch in range(10):
            for segment in range(3):
                live.report(batch + segment / 3, batch * 3 + segment + 1)
            time.sleep(0.03)

    began = time.monotonic()
    await asyncio.to_thread(decoder)
    await asyncio.sleep(0.25)  # the trailing update comes without a further report
    assert shown[-1][1:] == (9 + 2 / 3, 30)  # the latest position, not a stale one
    times = [began] + [t for t, _, _ in shown]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps[1:]) >= 0.095 and max(gaps) < 0.2
    assert len(shown) < 10  # coalesced: fewer updates than batches
    assert [p for _, p, _ in shown] == sorted(p for _, p, _ in shown)


async def test_settle_drops_what_is_pending_and_waits_for_an_update_under_way() -> None:
    shown: list[float] = []
    writing = asyncio.Event()

    async def show(processed: float, segments: int) -> None:
        writing.set()
        await asyncio.sleep(0.05)  # a slow row update
        shown.append(processed)

    live = LiveProgress(asyncio.get_running_loop(), show, interval=0.0)
    live.report(1.0, 1)
    await writing.wait()
    live.report(2.0, 2)  # pending behind the update under way
    await asyncio.sleep(0)
    await live.settle()
    assert shown == [1.0]  # the one under way finished; the pending one was dropped
    await asyncio.sleep(0.1)
    assert shown == [1.0]

    paced = LiveProgress(asyncio.get_running_loop(), show, interval=10.0)
    paced.report(3.0, 3)  # waits for its turn
    await asyncio.sleep(0.01)
    await paced.settle()  # returns at once: nothing was under way
    assert shown == [1.0]


async def test_settle_does_not_swallow_the_callers_cancellation() -> None:
    """A worker shutting down mid-commit still stops: only the update task is quiet."""
    release = asyncio.Event()

    async def show(processed: float, segments: int) -> None:
        await release.wait()

    live = LiveProgress(asyncio.get_running_loop(), show, interval=0.0)
    live.report(1.0, 1)
    await asyncio.sleep(0.01)  # the update is under way, blocked
    settling = asyncio.create_task(live.settle())
    await asyncio.sleep(0.01)
    settling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await settling
    live.close()


# --- a real job: tiny.en on real speech ---------------------------------------------------


@pytest.fixture(params=BACKENDS)
async def live_jobs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Database, JobService, str]]:
    # Several segment batches per chunk (one clip per batch), every one shown: on this
    # short recording a batch decodes in well under the default pacing.
    monkeypatch.setattr(runner, "LIVE_PROGRESS_SECONDS", 0.0)
    url = await create_database() if request.param == "postgres" else None
    settings = job_settings(
        tmp_path / "data", url, job_chunk_seconds=60.0, job_batch_size=1, job_lease_seconds=1.0
    )
    settings.data_dir.mkdir(parents=True)
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create("live-progress")
    try:
        yield database, service, user.id
    finally:
        await service.close()
        await database.dispose()
        if url:
            await drop_database(url)


async def submit(service: JobService, user_id: str, path: Path) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield await asyncio.to_thread(path.read_bytes)

    view = await service.submit_upload(
        user_id, chunks(), filename=path.name, options=JobOptions(model="tiny.en"), dispatch=False
    )
    return view.id


async def row(database: Database, job_id: str) -> TranscriptionJob:
    async with database.transaction() as session:
        job = await JobRepository(session).get(job_id, ALL_USERS)
    assert job is not None
    return job


async def test_progress_moves_inside_a_chunk_in_the_row_the_bus_and_sse(
    live_jobs: tuple[Database, JobService, str], recording_40s: tuple[Path, str]
) -> None:
    database, service, user_id = live_jobs
    job_id = await submit(service, user_id, recording_40s[0])
    await service.lane.run(service.lane.slot("tiny.en").get)  # the load is not under test
    rows: list[tuple[int, float, int]] = []
    streamed: list[JobView] = []
    running = True

    async def watch_row() -> None:  # what GET /api/transcriptions/{id} reads
        while running:
            job = await row(database, job_id)
            rows.append((job.chunks_done, job.processed_seconds, job.segments_done))
            await asyncio.sleep(0.01)

    async def follow() -> None:  # what the SSE route streams
        async for view in service.events(ALL_USERS, job_id):
            streamed.append(view)

    watchers = [asyncio.create_task(watch_row()), asyncio.create_task(follow())]
    events: list[JobEvent] = []
    status = await service.run_here(job_id, events.append)
    running = False
    await asyncio.wait_for(asyncio.gather(*watchers), 10)
    assert status == "done"

    done = await row(database, job_id)
    async with database.transaction() as session:
        chunks = await JobRepository(session).chunks(job_id)
    assert done.chunks_done == len(chunks) == 1  # one 40 s chunk, several batches
    live = [e for e in events if e.status == "running" and e.chunks_done == 0]
    assert len(live) >= 2 > len(chunks), events  # more events than chunks
    assert 0 < live[0].processed_seconds < live[-1].processed_seconds < done.duration  # type: ignore[operator]
    # The row moved before the chunk was committed, and so did the SSE stream.
    assert any(c == 0 and p > 0 for c, p, _ in rows), rows
    assert any(v.chunks_done == 0 and v.processed_seconds > 0 for v in streamed), streamed
    assert streamed[-1].status == "done"
    for seen in (
        [(e.processed_seconds, e.segments_done) for e in events],
        [(v.processed_seconds, v.segments_done) for v in streamed],
        [(p, s) for _, p, s in rows],
    ):
        assert seen == sorted(seen)  # never backwards while the job runs

    # What was committed is the whole transcript, each segment once, in order.
    segments = segments_of(chunks)
    assert done.segments_done == len(segments) == max(e.segments_done for e in events)
    assert live[-1].segments_done <= len(segments)
    for before, after in itertools.pairwise(segments):
        assert before.start <= before.end <= after.start
    texts = [s.text for s in segments]
    assert len(set(texts)) >= len(texts) - 1 and "country" in " ".join(texts).lower()


async def test_a_resumed_job_counts_only_committed_progress(
    live_jobs: tuple[Database, JobService, str], recording_40s: tuple[Path, str]
) -> None:
    """A worker died mid-chunk after showing live progress; the next one starts over."""
    database, service, user_id = live_jobs
    job_id = await submit(service, user_id, recording_40s[0])
    lost_worker, now = "dead-worker", utcnow()
    async with database.transaction() as session:
        repo = JobRepository(session)
        assert await repo.claim(job_id, lost_worker, now - timedelta(seconds=5), 1.0)
        assert await repo.show_progress(job_id, lost_worker, now, 33.0, 7)
    shown = await row(database, job_id)
    assert (shown.processed_seconds, shown.segments_done, shown.chunks_done) == (33.0, 7, 0)

    assert await service.run_here(job_id) == "done"  # its lease ran out already
    done = await row(database, job_id)
    async with database.transaction() as session:
        chunks = await JobRepository(session).chunks(job_id)
    assert done.attempts == 2
    assert done.segments_done == len(segments_of(chunks))  # the 7 not counted twice
    assert done.timings["attempt_from_s"] == 0.0


def test_the_lane_thread_reports_while_the_loop_is_elsewhere() -> None:
    """``report`` only queues a call: a decoder thread never touches loop state itself."""
    loop = asyncio.new_event_loop()
    shown: list[float] = []

    async def show(processed: float, segments: int) -> None:
        shown.append(processed)

    live = LiveProgress(loop, show, interval=0.0)
    thread = threading.Thread(target=live.report, args=(5.0, 1))
    thread.start()
    thread.join()
    assert shown == []  # nothing ran on the reporting thread
    loop.run_until_complete(asyncio.sleep(0.01))
    assert shown == [5.0]
    loop.close()
    live.report(6.0, 2)  # a closed loop: dropped, not raised
