"""``/health`` (the process answers) and ``/ready`` (its dependencies answer).

Readiness checks run concurrently, each with its own timeout, so one slow dependency
shows up as a failed check rather than a hung probe. ``/health`` touches nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ballsy.api.deps import ServicesDep

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


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "database": services.database.ping,
        "llm": services.llms.default.check,
    }
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    detail = dict(zip(checks, results, strict=True))
    ok = all(result["ok"] for result in results)
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": detail},
        status_code=200 if ok else 503,
    )
