"""``/health`` (the process answers) and ``/ready`` (its dependencies answer).

Readiness checks run concurrently, each with its own timeout, so one slow dependency
shows up as a failed check rather than a hung probe; blocking calls (disk statistics)
run on a thread, so a hung ``/ready`` never holds up the event loop or ``/health``,
which touches nothing. Each result also sets ``ballsy_readiness_check_up``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ballsy.api.deps import ReadinessDep
from ballsy.observability import metrics

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 5.0


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        status: dict[str, Any] = {"ok": False, "error": f"timed out after {CHECK_TIMEOUT}s"}
    except Exception as exc:
        status = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    else:
        status = {"ok": True}
    status["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return status


def _free_disk(path: Path, min_free_mb: int) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        existing = next((p for p in (path, *path.parents) if p.exists()), path)
        # statvfs can hang on a dead network mount: keep it off the event loop.
        usage = await asyncio.to_thread(shutil.disk_usage, existing)
        free_mb = usage.free // 2**20
        if free_mb < min_free_mb:
            raise OSError(f"{free_mb} MB free for media, need {min_free_mb} MB")

    return check


@router.get("/ready")
async def ready(readiness: ReadinessDep) -> JSONResponse:
    checks = {
        **readiness.checks,
        "disk": _free_disk(readiness.data_dir, readiness.min_free_disk_mb),
    }
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    detail = dict(zip(checks, results, strict=True))
    # Shared state is reported, not required: with Redis down the instance serves on
    # per-instance fallbacks (degraded), and failing readiness would take every
    # instance out of the load balancer at once.
    detail["state"] = {"ok": True, "ms": 0.0, **readiness.state()}
    for name, result in detail.items():
        metrics.READINESS.labels(name).set(1 if result["ok"] else 0)
    ok = all(result["ok"] for result in results)
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": detail},
        status_code=200 if ok else 503,
    )
