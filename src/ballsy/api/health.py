"""``/health`` (the process answers) and ``/ready`` (its dependencies answer).

Readiness checks run concurrently, each with its own timeout, so one slow dependency
shows up as a failed check rather than a hung probe; blocking calls (disk statistics)
run on a thread, so a hung ``/ready`` never holds up the event loop or ``/health``,
which touches nothing. Each result also sets ``ballsy_readiness_check_up``.

Each check's error text (and the shared state's last error) is shown only in
development, to ``Authorization: Bearer <INTERNAL_TOKEN>`` or an admin's credential,
and on ``INTERNAL_PORT`` (:mod:`ballsy.api.internal`); anyone else gets the status and
each check's ``ok`` and ``ms``, which is all a load balancer reads.
"""

from __future__ import annotations

import asyncio
import hmac
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ballsy.api.deps import AuthDep, Readiness, ReadinessDep, SettingsDep
from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.observability import metrics
from ballsy.security.guard import bearer_credential
from ballsy.security.service import AuthService

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


def has_internal_token(request: Request, settings: Settings) -> bool:
    """Whether the request carries ``Authorization: Bearer <INTERNAL_TOKEN>``."""
    if settings.internal_token is None:
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.internal_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


async def _sees_detail(request: Request, settings: Settings, auth: AuthService) -> bool:
    """Development, the internal token, or an admin's credential (never raises: a probe
    with a bad header still gets its status)."""
    if settings.environment != "production" or has_internal_token(request, settings):
        return True
    try:
        token = bearer_credential(request)
        return token is not None and (await auth.from_credential(token)).is_admin
    except BallsyError:
        return False


_SAFE_STATE = ("backend", "configured", "degraded")


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result[key] for key in ("ok", "ms", *_SAFE_STATE) if key in result}


@router.get("/ready")
async def ready(
    request: Request, readiness: ReadinessDep, settings: SettingsDep, auth: AuthDep
) -> JSONResponse:
    """200 ``ready`` or 503 ``not_ready``, with each check (errors only when authorized)."""
    return await readiness_answer(readiness, detail=await _sees_detail(request, settings, auth))


async def readiness_answer(readiness: Readiness, *, detail: bool) -> JSONResponse:
    """Run the checks; the answer, with each error when ``detail``."""
    checks = {
        **readiness.checks,
        "disk": _free_disk(readiness.data_dir, readiness.min_free_disk_mb),
    }
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    report = dict(zip(checks, results, strict=True))
    # Shared state is reported, not required: with Redis down the instance serves on
    # per-instance fallbacks (degraded), and failing readiness would take every
    # instance out of the load balancer at once.
    report["state"] = {"ok": True, "ms": 0.0, **readiness.state()}
    for name, result in report.items():
        metrics.READINESS.labels(name).set(1 if result["ok"] else 0)
    ok = all(result["ok"] for result in results)
    if not detail:
        report = {name: _summary(result) for name, result in report.items()}
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": report},
        status_code=200 if ok else 503,
    )
