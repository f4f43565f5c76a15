"""The inference runtime: admission limit, single model load, idle unload and real memory."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ballsy.config import Settings
from ballsy.errors import ModelUnavailable, ServiceBusy
from ballsy.speech.audio import decode_audio
from ballsy.speech.runtime import IdleReaper, InferenceRuntime, ModelSlot, release_memory
from ballsy.speech.stt import SpeechToText, TranscribeOptions, stt_engines
from ballsy.speech.tts import TextToSpeech, tts_engines


def _blocker(started: threading.Event, release: threading.Event) -> Callable[[], str]:
    def work() -> str:
        started.set()
        release.wait(5)
        return "done"

    return work


async def test_full_queue_raises_service_busy() -> None:
    runtime = InferenceRuntime(workers=1, queue_size=1)
    started, release = threading.Event(), threading.Event()
    running = asyncio.create_task(runtime.run(_blocker(started, release)))
    await asyncio.to_thread(started.wait, 5)
    queued = asyncio.create_task(runtime.run(lambda: "queued"))
    await asyncio.sleep(0)
    assert runtime.in_flight == 2

    with pytest.raises(ServiceBusy) as info:
        await runtime.run(lambda: "refused")
    assert info.value.status_code == 503
    assert info.value.detail == {"in_flight": 2, "capacity": 2}

    # An admitted stream's next step waits instead of failing mid-reply.
    step = asyncio.create_task(runtime.run_step(lambda: "next sentence"))
    release.set()
    assert await asyncio.gather(running, queued, step) == ["done", "queued", "next sentence"]
    assert runtime.in_flight == 0
    assert await runtime.run(lambda: "accepted again") == "accepted again"
    await runtime.close()


async def test_cancelled_waiters_free_their_place() -> None:
    runtime = InferenceRuntime(workers=1, queue_size=1)
    started, release = threading.Event(), threading.Event()
    running = asyncio.create_task(runtime.run(_blocker(started, release)))
    await asyncio.to_thread(started.wait, 5)
    queued = asyncio.create_task(runtime.run(lambda: "never"))
    await asyncio.sleep(0)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert runtime.in_flight == 1
    release.set()
    await running
    await runtime.close()


async def test_closed_runtime_refuses_work() -> None:
    runtime = InferenceRuntime(workers=1, queue_size=4)
    await runtime.close()
    assert runtime.closed
    with pytest.raises(ServiceBusy):
        await runtime.run(lambda: 1)


async def test_concurrent_first_calls_load_the_model_once() -> None:
    calls: list[int] = []

    def loader() -> object:
        calls.append(1)
        time.sleep(0.2)  # a slow load makes every caller arrive while it runs
        return object()

    slot: ModelSlot[object] = ModelSlot("fake", loader)
    runtime = InferenceRuntime(workers=4, queue_size=16)
    models = await asyncio.gather(*(runtime.run(slot.get) for _ in range(12)))
    await runtime.close()

    assert len(calls) == 1
    assert slot.load_count == 1
    assert all(model is models[0] for model in models)


def test_failed_load_is_reported_and_retried() -> None:
    attempts: list[int] = []

    def loader() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk on fire")
        return "model"

    slot: ModelSlot[str] = ModelSlot("flaky", loader)
    with pytest.raises(ModelUnavailable, match="disk on fire"):
        slot.get()
    assert not slot.loaded
    assert slot.get() == "model"


async def test_idle_reaper_unloads_after_ttl_but_not_while_leased() -> None:
    busy: ModelSlot[bytearray] = ModelSlot("busy", lambda: bytearray(10))
    idle: ModelSlot[bytearray] = ModelSlot("idle", lambda: bytearray(10))
    busy.get()
    idle.get()
    reaper = IdleReaper([busy, idle], ttl=0.2)
    reaper.start()
    try:
        with busy.lease():
            await asyncio.sleep(0.6)
            assert not idle.loaded
            assert busy.loaded, "a model in use must never be unloaded"
        await _wait_until(lambda: not busy.loaded)
    finally:
        await reaper.stop()
    assert not reaper.running


def test_zero_ttl_never_reaps() -> None:
    slot: ModelSlot[int] = ModelSlot("kept", lambda: 1)
    slot.get()
    reaper = IdleReaper([slot], ttl=0)
    assert reaper.reap_once() == []
    assert slot.loaded


async def _wait_until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def _rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


def _exercise(model: Any, audio: np.ndarray) -> None:
    if isinstance(model, SpeechToText):
        model.transcribe(audio, TranscribeOptions())
    else:
        assert isinstance(model, TextToSpeech)
        list(model.synthesize("Memory is measured after real work, not just a load."))


async def test_idle_unload_returns_model_memory(
    speech_settings: Settings, fixtures_dir: Path
) -> None:
    """Each real model: RSS before load, after load + one inference, after the reaper.

    Each model goes through one load/unload cycle first: the first load in a process
    also starts library thread pools and per-thread malloc arenas that stay for the
    life of the process whether or not a model is loaded. The second cycle shows what
    the model itself costs and gives back. Both cycles are printed.
    """
    audio = decode_audio(fixtures_dir / "english.wav").samples
    loaders: dict[str, Callable[[], Any]] = {}
    for name, stt in stt_engines().items():
        loaders[f"stt:{name}"] = lambda spec=stt: spec.load(speech_settings)
    for name, tts in tts_engines().items():
        loaders[f"tts:{name}"] = lambda spec=tts: spec.load(speech_settings)

    for name, loader in loaders.items():
        for cycle in ("first", "second"):
            slot: ModelSlot[Any] = ModelSlot(name, loader)
            release_memory()
            before = _rss_mib()
            _exercise(slot.get(), audio)
            loaded = _rss_mib()
            reaper = IdleReaper([slot], ttl=0.1)
            reaper.start()
            try:
                await _wait_until(lambda slot=slot: slot.unload_count == 1)
            finally:
                await reaper.stop()
            assert not slot.loaded
            after = _rss_mib()
            grew, freed = loaded - before, loaded - after
            print(f"\n{name:12s} {cycle:6s} RSS before {before:4.0f} MiB, loaded {loaded:4.0f} "
                  f"(+{grew:3.0f}), after idle unload {after:4.0f} (-{freed:3.0f}); "
                  f"load {slot.load_seconds:.2f} s")  # fmt: skip
        assert grew > 40, f"{name} should take real memory once loaded"
        assert freed > 0.6 * grew, f"{name}: unloading gave back only {freed:.0f} of {grew:.0f} MiB"
