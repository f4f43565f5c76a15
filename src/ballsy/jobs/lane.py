"""The batch lane: where job inference runs, behind realtime voice turns.

Voice turns must not wait for batch work, so jobs never use the shared
``InferenceRuntime`` or its models:

- **own threads, lower priority.** Job decoding and inference run on the lane's
  threads, which raise their own niceness (``JOB_NICE``, Linux) as they start. The
  lane's Whisper model is loaded *on* such a thread, so the CTranslate2 threads it
  creates inherit the low priority: when a voice turn needs the CPU the kernel
  gives it first, and jobs use what is left.
- **own model copies.** CTranslate2 serialises the calls of one model instance; if jobs
  shared the voice model, a turn would queue behind a chunk that takes seconds. For
  the same reason each of the ``JOB_CONCURRENCY`` *seats* (a running job holds one)
  loads its own copy when first used, so a short job never queues behind a long
  job's batch either. Each copy costs one model in memory (tiny.en int8: ~75 MB); a
  ``ballsy worker`` process has no voice models.
- **yield.** Before each call the lane waits (up to ``YIELD_MAX_SECONDS``) while the
  interactive runtime has work in flight, so a turn that just arrived starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from ballsy.config import Settings
from ballsy.speech.runtime import InferenceRuntime, ModelSlot
from ballsy.speech.stt import SpeechToText, stt_spec

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

YIELD_MAX_SECONDS = 1.0
_YIELD_STEP = 0.02


def lower_thread_priority(nice: int) -> None:
    """Raise this thread's niceness to ``nice`` (threads created from it inherit it)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        # On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


def thread_nice() -> int:
    """The calling thread's nice value (for tests and diagnostics)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class BatchLane:
    """A small pool of low-priority threads with their own lazily loaded STT models."""

    def __init__(self, settings: Settings, *, interactive: InferenceRuntime | None = None) -> None:
        self.settings = settings
        self.interactive = interactive
        self.nice = settings.job_nice
        self._executor = ThreadPoolExecutor(
            max_workers=settings.job_concurrency,
            thread_name_prefix="job-inference",
            initializer=lower_thread_priority,
            initargs=(settings.job_nice,),
        )
        self._slots: dict[tuple[str, int], ModelSlot[SpeechToText]] = {}
        self._lock = threading.Lock()
        self._free_seats = list(range(settings.job_concurrency))
        self._seat_freed: asyncio.Condition | None = None
        # faster-whisper logs two INFO lines per chunk; progress events say more.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.yielded_seconds = 0.0

    @contextlib.asynccontextmanager
    async def seat(self) -> AsyncIterator[int]:
        """Hold one of the ``JOB_CONCURRENCY`` seats (and so its model copies)."""
        if self._seat_freed is None:
            self._seat_freed = asyncio.Condition()
        async with self._seat_freed:
            await self._seat_freed.wait_for(lambda: bool(self._free_seats))
            seat = self._free_seats.pop(0)
        try:
            yield seat
        finally:
            async with self._seat_freed:
                self._free_seats.append(seat)
                self._free_seats.sort()
                self._seat_freed.notify()

    def slot(self, model: str, seat: int = 0) -> ModelSlot[SpeechToText]:
        """The model ``model`` of seat ``seat``, loaded on first use."""
        spec = stt_spec(model)  # UnknownModel names the valid ones
        with self._lock:
            slot = self._slots.get((model, seat))
            if slot is None:
                job_settings = self.settings
                if self.settings.job_cpu_threads:
                    job_settings = self.settings.model_copy(
                        update={"stt_threads": self.settings.job_cpu_threads}
                    )

                def load() -> SpeechToText:
                    return spec.load(job_settings)

                slot = self._slots[(model, seat)] = ModelSlot(f"job-stt:{model}:{seat}", load)
            return slot

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run ``fn(*args)`` on a lane thread, after letting voice turns go first."""
        await self._yield_to_interactive()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args))

    async def _yield_to_interactive(self) -> None:
        runtime = self.interactive
        if runtime is None or runtime.in_flight == 0:
            return
        started = time.monotonic()
        deadline = started + YIELD_MAX_SECONDS
        # Bounded, so a busy voice server slows jobs down but never starves them.
        # A counter of another subsystem, with no event to wait on: polled.
        while runtime.in_flight > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(_YIELD_STEP)
        self.yielded_seconds += time.monotonic() - started

    async def close(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
        for slot in self._slots.values():
            slot.unload()
