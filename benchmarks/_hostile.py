"""A hostile voice client and a probe, shared by the flood benchmark and the abuse tests.

:func:`flood` sends audio faster than real time to ``/ws/voice`` and reconnects whenever
it is closed (run it in a process of its own, so it does not share the caller's event
loop); :class:`HealthProbe` times ``/health`` meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
import numpy as np
import websockets

FLOOD_RATE = 8_000
FRAME_SECONDS = 2.0


def flood(url: str, seconds: float, out: Any) -> None:
    """Child process: flood ``/ws/voice`` with 2-s frames of noise, reconnecting when closed.

    Puts ``("started", monotonic)`` and then ``("report", {...})`` on ``out``."""
    out.put(("started", time.monotonic()))
    out.put(("report", asyncio.run(_flood(url, seconds))))


async def _flood(url: str, seconds: float) -> dict[str, Any]:
    samples = int(FRAME_SECONDS * FLOOD_RATE)
    noise = np.random.default_rng(7).integers(-12000, 12000, samples, dtype=np.int16)
    frame = noise.astype("<i2").tobytes()
    errors: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    lifetimes: list[float] = []
    frames = connections = refused = 0
    started = time.monotonic()
    deadline = started + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            async with (
                asyncio.timeout(left),
                websockets.connect(
                    f"{url}/ws/voice/flooder?sample_rate={FLOOD_RATE}",
                    open_timeout=5,
                    close_timeout=2,
                ) as ws,
            ):
                connections += 1
                opened = time.monotonic()
                reader = asyncio.create_task(_count_errors(ws, errors))
                try:
                    while True:
                        await ws.send(frame)
                        frames += 1
                        # send() need not yield: without this the reader never runs,
                        # and the flooder would not see the server close it.
                        await asyncio.sleep(0)
                except websockets.ConnectionClosed:
                    await asyncio.wait([reader], timeout=1)
                    closes[f"{ws.close_code} {ws.close_reason}"] += 1
                    lifetimes.append(time.monotonic() - opened)
        except TimeoutError:
            pass  # the flood's time is up
        except (websockets.InvalidHandshake, OSError):
            refused += 1
            await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    return {
        "seconds": round(elapsed, 2),
        "frames": frames,
        "audio_pushed_s": frames * FRAME_SECONDS,
        "audio_per_wall_second": round(frames * FRAME_SECONDS / elapsed, 1),
        "connections": connections,
        "refused_handshakes": refused,
        "closed_by_server": sum(closes.values()),
        "closes": dict(closes),
        "connection_lifetime_s": [round(s, 2) for s in lifetimes],
        "errors": dict(errors),
    }


async def _count_errors(ws: Any, errors: Counter[str]) -> None:
    try:
        async for raw in ws:
            if isinstance(raw, str) and (message := json.loads(raw)).get("type") == "error":
                errors[message.get("code", "?")] += 1
    except websockets.ConnectionClosed:
        pass


class HealthProbe:
    """GETs ``/health`` every 50 ms on its own thread while active; latencies in ms."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    ok = http.get(f"{self.url}/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append((time.perf_counter() - start) * 1000 if ok else 5000.0)
                self._stop.wait(0.05)

    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0
