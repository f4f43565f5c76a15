"""The batch lane keeps voice turns first: own low-priority threads, own model, yielding."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import numpy as np

from ballsy.jobs.lane import YIELD_MAX_SECONDS, BatchLane, thread_nice
from ballsy.speech.runtime import InferenceRuntime
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import TranscribeOptions
from tests.jobs.conftest import job_settings


def _nice_of_threads() -> dict[int, int]:
    nice = {}
    for task in Path("/proc/self/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        nice[int(task.name)] = int(fields[16])  # field 19 of stat: nice
    return nice


async def test_lane_threads_and_their_model_run_at_low_priority(tmp_path: Path) -> None:
    settings = job_settings(tmp_path, job_nice=12)
    runtime = InferenceRuntime.from_settings(settings)
    speech = SpeechService(settings, runtime)
    lane = BatchLane(settings, interactive=runtime)
    before = set(_nice_of_threads())
    try:
        assert await lane.run(thread_nice) == max(12, os.nice(0))
        assert thread_nice() == os.nice(0)  # the caller's thread is untouched
        slot = lane.slot("tiny.en")
        job_model = await lane.run(slot.get)
        voice_model = await runtime.run(speech.stt_slot("tiny.en").get)
        assert job_model is not voice_model  # CTranslate2 queues per instance
        audio = np.zeros(16_000, dtype=np.float32)
        await lane.run(job_model.transcribe, audio, TranscribeOptions(vad_filter=False))
        new_threads = {tid: n for tid, n in _nice_of_threads().items() if tid not in before}
        # The model's own compute threads were born on a lane thread: they inherited it.
        assert sum(1 for n in new_threads.values() if n == 12) > settings.job_concurrency
        assert threading.get_native_id() not in new_threads
    finally:
        await lane.close()
        await speech.close()
        await runtime.close()


async def test_lane_waits_while_voice_work_is_in_flight(tmp_path: Path) -> None:
    settings = job_settings(tmp_path)
    runtime = InferenceRuntime(workers=1, queue_size=2)
    lane = BatchLane(settings, interactive=runtime)
    try:
        turn = asyncio.create_task(runtime.run(time.sleep, 0.4))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await lane.run(int, "1")
        assert time.monotonic() - started >= 0.3  # waited for the turn to finish
        await turn
        # Bounded: a voice server that never idles slows jobs, never starves them.
        busy = asyncio.create_task(runtime.run(time.sleep, YIELD_MAX_SECONDS + 1.5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await lane.run(int, "2")
        assert time.monotonic() - started < YIELD_MAX_SECONDS + 0.5
        await busy
    finally:
        await lane.close()
        await runtime.close()


async def test_each_seat_has_its_own_model_so_jobs_do_not_queue_behind_each_other(
    tmp_path: Path,
) -> None:
    lane = BatchLane(job_settings(tmp_path, job_concurrency=2))
    try:
        async with lane.seat() as first, lane.seat() as second:
            assert first != second
            assert lane.slot("tiny.en", first) is not lane.slot("tiny.en", second)
            third = asyncio.create_task(lane.seat().__aenter__())
            await asyncio.sleep(0.05)
            assert not third.done()  # JOB_CONCURRENCY seats, no more
        assert await asyncio.wait_for(third, 1) in (first, second)
    finally:
        await lane.close()
