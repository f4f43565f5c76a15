"""``/ready`` detail per check, its metric, and a hung ``/ready`` never holding ``/health``."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ballsy.api import health
from tests.observability.conftest import sample, scrape


@pytest.fixture
def free_space_required(obs_app: FastAPI) -> Iterator[Any]:
    settings = obs_app.state.services.settings
    before = settings.ready_min_free_disk_mb
    yield settings
    settings.ready_min_free_disk_mb = before


async def test_ready_reports_each_check(obs_client: httpx.AsyncClient) -> None:
    response = await obs_client.get("/ready")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {"database", "llm", "disk"} <= set(checks)
    assert all(check["ok"] and check["ms"] >= 0 for check in checks.values())
    metrics = await scrape(obs_client)
    assert metrics[sample("ballsy_readiness_check_up", check="disk")] == 1


async def test_low_disk_space_is_not_ready(
    obs_client: httpx.AsyncClient, free_space_required: Any
) -> None:
    free_mb = shutil.disk_usage(free_space_required.data_dir).free // 2**20
    free_space_required.ready_min_free_disk_mb = free_mb + 10_000_000
    response = await obs_client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["disk"]["ok"] is False
    assert "MB free for media" in body["checks"]["disk"]["error"]
    assert body["checks"]["database"]["ok"] is True
    metrics = await scrape(obs_client)
    assert metrics[sample("ballsy_readiness_check_up", check="disk")] == 0
    assert metrics[sample("ballsy_readiness_check_up", check="database")] == 1


async def test_a_hung_ready_check_does_not_block_health(
    obs_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A statvfs stuck on a dead network mount, simulated at the OS-call boundary.
    release = threading.Event()
    real_disk_usage = shutil.disk_usage

    def hung_disk_usage(path: Any) -> Any:
        release.wait(10)
        return real_disk_usage(path)

    monkeypatch.setattr(shutil, "disk_usage", hung_disk_usage)
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.5)
    try:
        ready = asyncio.create_task(obs_client.get("/ready"))
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        alive = await obs_client.get("/health")
        assert alive.status_code == 200
        assert time.perf_counter() - started < 0.3
        assert not ready.done()
        response = await ready
    finally:
        release.set()
    assert response.status_code == 503
    assert response.json()["checks"]["disk"] == {
        "ok": False,
        "error": "timed out after 0.5s",
        "ms": pytest.approx(500, abs=150),
    }
