"""What rate limiting costs per request, and how fast an instance survives Redis dying.

Measures, on this machine:

1. ``hit`` latency of the limiter alone (moving window, 60/min over 500 users, so the
   windows stay realistic), in-process memory vs Redis;
2. per-request overhead through the whole app: the same request (``GET /api/auth/me``
   with a JWT, which touches no database) with the real limiter and with a no-op one,
   in interleaved batches;
3. fallback switch time: Redis is SIGKILLed (refused connections) or SIGSTOPped (a
   hung server) and the next limiter call is timed until it is answered from memory;
   then Redis returns and the time until the instance uses it again is measured.

Needs ``redis-server`` on PATH (a private one is started on a free port) and writes
``benchmarks/results/limiter_overhead.json``. Run: ``.venv/bin/python
benchmarks/limiter_overhead.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from limits import RateLimitItemPerMinute

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.services import Services
from ballsy.state.base import RateWindow
from ballsy.state.failover import FailoverState
from ballsy.state.memory import MemoryBackend
from ballsy.state.redis_backend import RedisBackend

RESULTS = Path(__file__).parent / "results" / "limiter_overhead.json"
HITS = 3000
REQUESTS = 3000
USERS = 500
LIMIT = 60  # per user per minute; USERS x LIMIT covers every hit below


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="ballsy-bench-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        while subprocess.run(ping, capture_output=True, check=False).stdout.strip() != b"PONG":
            time.sleep(0.02)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def version(self) -> str:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
        return out.stdout.split()[2].removeprefix("v=") if out.returncode == 0 else "?"


def summary_us(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
        "p50_us": round(ordered[len(ordered) // 2] * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] * 1e6, 1),
    }


async def timed(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def users(count: int) -> Iterator[str]:
    """Round-robin user keys: each stays under a realistic per-minute limit."""
    return (f"user-{i % USERS}" for i in range(count))


async def limiter_alone(redis_url: str) -> dict[str, Any]:
    item = RateLimitItemPerMinute(LIMIT, namespace="bench")
    results: dict[str, Any] = {}
    for name, backend in (
        ("memory", MemoryBackend()),
        ("redis", RedisBackend(redis_url, prefix="bench:")),
    ):
        keys = users(HITS * 2)
        await timed(lambda b=backend: b.hit(item, "warm-up"), 20)  # type: ignore[misc]
        samples = await timed(lambda b=backend, k=keys: b.hit(item, next(k)), HITS)  # type: ignore[misc]
        start = time.perf_counter()
        await asyncio.gather(*(backend.hit(item, key) for key in keys))
        concurrent = time.perf_counter() - start
        results[name] = {
            **summary_us(samples),
            "concurrent_hits_per_s": round(HITS / concurrent),
        }
        await backend.close()
    return results


async def per_request(redis_url: str | None, data_dir: Path) -> dict[str, Any]:
    """Latency of one authenticated request with the real limiter and with a no-op."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        auth_mode="jwt",
        jwt_secret="b" * 48,
        redis_url=redis_url,
        redis_key_prefix="bench-app:",
        max_requests_per_minute=LIMIT,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        tokens = [
            services.auth.tokens.issue(key, key, "user", 0).access_token for key in users(USERS)
        ]
        turn = iter(range(10**9))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

            async def request() -> None:
                token = tokens[next(turn) % USERS]
                response = await http.get(
                    "/api/auth/me", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, response.text

            real = services.limits.check_request

            async def no_limit(_user: str) -> RateWindow:
                return RateWindow(True, LIMIT, LIMIT, time.time() + 60)

            await timed(request, 100)
            with_limiter: list[float] = []
            without: list[float] = []
            # Interleaved batches, so drift (other load, warm-up) hits both sides alike.
            for _ in range(REQUESTS // 100):
                services.limits.check_request = real  # type: ignore[method-assign]
                with_limiter += await timed(request, 50)
                services.limits.check_request = no_limit  # type: ignore[method-assign]
                without += await timed(request, 50)
            services.limits.check_request = real  # type: ignore[method-assign]
    on, off = summary_us(with_limiter), summary_us(without)
    return {
        "with_limiter": on,
        "without_limiter": off,
        "overhead_p50_us": round(on["p50_us"] - off["p50_us"], 1),
        "overhead_mean_us": round(on["mean_us"] - off["mean_us"], 1),
    }


async def switch_times(redis: PrivateRedis, how: str) -> dict[str, float]:
    settings = Settings(_env_file=None, redis_url=redis.url)  # type: ignore[call-arg]
    state = FailoverState.from_settings(settings)  # default REDIS_TIMEOUT / RETRY_INTERVAL
    item = RateLimitItemPerMinute(10**9, namespace="switch")
    await state.start()
    await timed(lambda: state.hit(item, "u"), 50)
    assert state.name == "redis"
    redis.signal(signal.SIGKILL if how == "killed" else signal.SIGSTOP)
    start = time.perf_counter()
    window = await state.hit(item, "u")  # fails on Redis, answered from memory
    switch = time.perf_counter() - start
    assert window.allowed and state.degraded
    after = await timed(lambda: state.hit(item, "u"), 200)
    if how == "killed":
        redis.kill()
        redis.start()
    else:
        redis.signal(signal.SIGCONT)
    start = time.perf_counter()
    while state.degraded:  # noqa: ASYNC110 - polling is the measurement
        await asyncio.sleep(0.005)
    recovery = time.perf_counter() - start
    await state.close()
    return {
        "switch_ms": round(switch * 1000, 1),
        "degraded_hit_p50_us": summary_us(after)["p50_us"],
        "recovery_ms": round(recovery * 1000, 1),
        "redis_timeout_s": settings.redis_timeout,
        "redis_retry_interval_s": settings.redis_retry_interval,
    }


async def main() -> dict[str, Any]:
    redis = PrivateRedis()
    redis.start()
    data_dir = Path(tempfile.mkdtemp(prefix="ballsy-bench-"))
    try:
        report: dict[str, Any] = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "redis": redis.version(),
                "platform": platform.platform(),
            },
            "limiter_alone": await limiter_alone(redis.url),
            "per_request_memory": await per_request(None, data_dir / "memory"),
            "per_request_redis": await per_request(redis.url, data_dir / "redis"),
            "fallback_redis_killed": await switch_times(redis, "killed"),
            "fallback_redis_hung": await switch_times(redis, "hung"),
        }
    finally:
        redis.kill()
        shutil.rmtree(redis.dir, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    return report


def show(report: dict[str, Any]) -> None:
    alone = report["limiter_alone"]
    print(f"machine: {report['machine']}")
    for name in ("memory", "redis"):
        row = alone[name]
        print(
            f"limiter hit ({name:6}): p50 {row['p50_us']:8.1f} µs  p99 {row['p99_us']:8.1f} µs  "
            f"{row['concurrent_hits_per_s']:>7} hits/s concurrent"
        )
    for name in ("memory", "redis"):
        row = report[f"per_request_{name}"]
        print(
            f"request overhead ({name:6}): +{row['overhead_p50_us']} µs p50 "
            f"({row['without_limiter']['p50_us']} → {row['with_limiter']['p50_us']} µs)"
        )
    for how in ("killed", "hung"):
        row = report[f"fallback_redis_{how}"]
        print(
            f"Redis {how:6}: switch to memory {row['switch_ms']} ms, back to Redis "
            f"{row['recovery_ms']} ms after it returned"
        )


if __name__ == "__main__":
    result = asyncio.run(main())
    show(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
