"""The process-wide inference runtime: a bounded thread pool and lazily loaded models.

Model calls (CTranslate2, onnxruntime) release the GIL, so a small thread pool runs
them in parallel while the event loop keeps serving sockets. Admission is bounded:
past ``workers + queue_size`` jobs in flight, callers get :class:`ServiceBusy` at once
instead of an ever-growing queue. Waiting calls are not served first come, first
served: the threads take them from a :class:`~ballsy.scheduling.FairQueue`, by lane
(a turn's transcription and first sentence before the rest) and then user by user in
turn, so one user's burst of requests cannot hold back another user's next reply.
Each model lives in one :class:`ModelSlot` per process, loaded on first use and
optionally unloaded after an idle period.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, Generic, TypeVar, TypeVarTuple

from ballsy.config import Settings
from ballsy.errors import BallsyError, ModelUnavailable, ServiceBusy
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.scheduling import FairQueue, WorkTag, current_work, lead_call

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

log = get_logger("ballsy.speech.runtime")


_Call = tuple[Future[Any], Callable[[], Any], WorkTag]


class InferenceRuntime:
    """A fixed pool of inference threads with an admission limit and a fair queue."""

    def __init__(self, *, workers: int, queue_size: int) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError("workers must be >= 1 and queue_size >= 0")
        self.workers = workers
        self.queue_size = queue_size
        self._queue: FairQueue[_Call] = FairQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"inference_{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> InferenceRuntime:
        return cls(workers=settings.inference_workers, queue_size=settings.inference_queue_size)

    @property
    def capacity(self) -> int:
        """Jobs that may be in flight at once: one running per worker plus the queue."""
        return self.workers + self.queue_size

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not finished (running or waiting for a worker)."""
        return self._in_flight

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run ``fn(*args)`` on an inference thread; :class:`ServiceBusy` when full."""
        with self._lock:
            if self._closed:
                raise ServiceBusy("the inference runtime is shutting down")
            if self._in_flight >= self.capacity:
                raise ServiceBusy(
                    "the speech engine is busy; retry shortly",
                    detail={"in_flight": self._in_flight, "capacity": self.capacity},
                )
            self._in_flight += 1
        return await self._submit(fn, *args)

    async def run_step(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run the next step of a job that was already admitted (the next sentence of a
        stream): it waits for a worker like any job but is never refused, so a stream
        that started is not cut in the middle by a burst of new requests."""
        with self._lock:
            if self._closed:
                raise ServiceBusy("the inference runtime is shutting down")
            self._in_flight += 1
        return await self._submit(fn, *args)

    async def _submit(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        future: Future[T] = Future()
        future.add_done_callback(self._job_done)
        try:
            tag = current_work()
            self._queue.put((future, lambda: fn(*args), tag), tag)
        except RuntimeError as exc:  # closed between the check and here
            future.cancel()
            raise ServiceBusy("the inference runtime is shutting down") from exc
        return await asyncio.wrap_future(future)

    def _work(self) -> None:
        while (call := self._queue.get()) is not None:
            future, fn, tag = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with lead_call(tag):
                    result = fn()
            except BaseException as exc:  # handed to the awaiting caller
                future.set_exception(exc)
            else:
                future.set_result(result)

    def _job_done(self, _future: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1

    async def close(self) -> None:
        """Refuse new work, drop queued jobs and wait for running ones to finish."""
        with self._lock:
            self._closed = True
        for future, _fn, _tag in self._queue.close():
            future.cancel()
        for thread in self._threads:
            await asyncio.to_thread(thread.join)


class ModelSlot(Generic[T]):
    """One lazily loaded model, shared by every caller in the process.

    ``get()`` loads on first use under a lock, so concurrent first requests wait for a
    single load instead of each loading a copy. ``unload()`` drops the slot's reference
    and gives freed memory back to the OS.
    """

    def __init__(self, name: str, loader: Callable[[], T]) -> None:
        self.name = name
        self._loader = loader
        self._lock = threading.RLock()
        self._model: T | None = None
        self._active = 0
        self.last_used = time.monotonic()
        self.load_count = 0
        self.unload_count = 0
        """Unloads whose memory release has finished (``loaded`` turns False before)."""
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def active(self) -> int:
        """Callers inside :meth:`lease` right now (an active slot is never reaped)."""
        return self._active

    def get(self) -> T:
        """The model, loading it first if needed (blocking: call from a worker thread)."""
        with self._lock:
            model = self._model
            if model is None:
                model = self._load()
            self.last_used = time.monotonic()
            return model

    def _load(self) -> T:
        started = time.perf_counter()
        try:
            with _heap.loading():
                model = self._loader()
        except BallsyError:
            metrics.record_model_load(self.name, time.perf_counter() - started, ok=False)
            raise
        except Exception as exc:
            metrics.record_model_load(self.name, time.perf_counter() - started, ok=False)
            raise ModelUnavailable(
                f"could not load the {self.name} model: {exc}", detail={"model": self.name}
            ) from exc
        self.load_seconds = time.perf_counter() - started
        metrics.record_model_load(self.name, self.load_seconds, ok=True)
        self.load_count += 1
        self._model = model
        log.info("ballsy.speech.model_loaded", model=self.name, seconds=round(self.load_seconds, 3))
        return model

    @contextlib.contextmanager
    def lease(self) -> Iterator[T]:
        """Use the model for one call; the idle reaper leaves it alone meanwhile."""
        with self._lock:
            model = self.get()
            self._active += 1
        try:
            yield model
        finally:
            with self._lock:
                self._active -= 1
                self.last_used = time.monotonic()

    def touch(self) -> None:
        """Mark the model as used now (a stream that holds its own reference)."""
        self.last_used = time.monotonic()

    def unload(self) -> bool:
        """Drop the model and return its memory to the OS; False if it was not loaded.

        A caller that still holds a reference keeps the model alive until it is done.
        """
        with self._lock:
            if self._model is None:
                return False
            self._model = None
        release_memory()
        self.unload_count += 1
        metrics.MODEL_EVENTS.labels(self.name, "unload").inc()
        log.info("ballsy.speech.model_unloaded", model=self.name)
        return True

    def unload_if_idle(self, ttl: float, now: float | None = None) -> bool:
        """Unload when unused for more than ``ttl`` seconds and nobody holds a lease."""
        with self._lock:
            idle = (time.monotonic() if now is None else now) - self.last_used
            if self._model is None or self._active or idle <= ttl:
                return False
            self._model = None
        release_memory()
        self.unload_count += 1
        metrics.MODEL_EVENTS.labels(self.name, "unload").inc()
        log.info("ballsy.speech.model_unloaded", model=self.name, idle_s=round(idle, 1))
        return True


class _GlibcHeap:
    """Steer glibc malloc so an unloaded model's memory really goes back to the OS.

    glibc serves big allocations from its heaps once its dynamic mmap threshold has
    grown, and weights freed from the middle of a heap stay resident (measured: an
    unloaded tiny.en gave back 19 of 113 MiB). While a model loads, allocations from
    256 KiB up are made with mmap, so freeing the weights unmaps them. Afterwards the
    threshold is set high again (inference buffers are reused, as with glibc's own
    dynamic threshold) and automatic trimming is left to the explicit
    ``malloc_trim`` on unload. Not glibc (musl, macOS): all of this is a no-op.
    """

    _M_TRIM_THRESHOLD = -1
    _M_MMAP_THRESHOLD = -3
    _LOAD_MMAP_THRESHOLD = 256 * 1024
    _RUN_MMAP_THRESHOLD = 32 * 1024 * 1024
    _RUN_TRIM_THRESHOLD = 128 * 1024 * 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loading = 0
        self._libc: Any = None
        if sys.platform.startswith("linux"):
            name = ctypes.util.find_library("c")
            with contextlib.suppress(OSError):
                libc = ctypes.CDLL(name) if name else None
                if libc is not None and hasattr(libc, "malloc_trim"):
                    self._libc = libc

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        """Allocations made inside (a model's weights) are individually mmapped."""
        if self._libc is None:
            yield
            return
        with self._lock:
            if self._loading == 0:
                self._libc.mallopt(self._M_MMAP_THRESHOLD, self._LOAD_MMAP_THRESHOLD)
            self._loading += 1
        try:
            yield
        finally:
            with self._lock:
                self._loading -= 1
                if self._loading == 0:
                    self._libc.mallopt(self._M_MMAP_THRESHOLD, self._RUN_MMAP_THRESHOLD)
                    self._libc.mallopt(self._M_TRIM_THRESHOLD, self._RUN_TRIM_THRESHOLD)

    def trim(self) -> None:
        if self._libc is not None:
            self._libc.malloc_trim(0)


_heap = _GlibcHeap()


def release_memory() -> None:
    """Collect garbage, then hand free heap pages back to the kernel (glibc)."""
    gc.collect()
    _heap.trim()


class IdleReaper:
    """An asyncio task that unloads slots idle for longer than ``ttl`` seconds."""

    def __init__(self, slots: Iterable[ModelSlot[Any]], ttl: float) -> None:
        self.slots = list(slots)
        self.ttl = ttl
        self.interval = min(max(ttl / 4, 0.05), 30.0)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start reaping; a TTL of 0 means models stay loaded and no task is started."""
        if self.ttl > 0 and not self.running:
            self._task = asyncio.create_task(self._loop(), name="ballsy-model-reaper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def reap_once(self) -> list[str]:
        """Unload every idle slot now; returns the names unloaded (none when TTL is 0)."""
        if self.ttl <= 0:
            return []
        now = time.monotonic()
        return [slot.name for slot in self.slots if slot.unload_if_idle(self.ttl, now)]

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.to_thread(self.reap_once)
