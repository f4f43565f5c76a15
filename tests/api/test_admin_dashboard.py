"""The dashboard's admin endpoints: analytics, live sessions, jobs (and who may read them)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.testclient import TestClient

from ballsy.app import create_app
from ballsy.jobs.options import JobOptions
from ballsy.services import Services
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionJob
from ballsy.store.repositories import UserRepository
from tests.conftest import make_settings
from tests.security.conftest import make_user, running, secure_settings

COMMANDS = ["what is 2 plus 2", "what is 3 times 4", "play jazz on spotify", "what time is it"]


async def test_analytics_reflect_stored_turns(client: httpx.AsyncClient, client_id: str) -> None:
    before = (await client.get("/api/admin/analytics", params={"window": "24h"})).json()
    for text in COMMANDS:
        answer = await client.post("/api/command", json={"text": text, "client_id": client_id})
        assert answer.status_code == 200, answer.text
    response = await client.get("/api/admin/analytics", params={"window": "24h"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert data["window"] == "24h" and data["bucket_seconds"] == 3600 and len(data["series"]) == 24
    assert data["totals"]["turns"] == before["totals"]["turns"] + len(COMMANDS)
    assert data["totals"]["sessions"] >= before["totals"]["sessions"] + 1
    assert sum(point["turns"] for point in data["series"]) == data["totals"]["turns"]
    stages = {stage["stage"]: stage for stage in data["latency"]}
    assert {"prepare", "skills", "total"} <= set(stages)
    total = stages["total"]
    assert 0 <= total["p50"] <= total["p90"] <= total["p99"] <= total["max"]
    skills = {r["name"]: r["count"] for r in data["top_skills"]}
    assert skills["math"] >= 2 and skills["links"] >= 1
    errors = data["errors"]
    assert errors["http_total"] > 0 and 0 <= errors["http_error_rate"] <= 1
    assert {"llm_failures", "stt_failures", "http_by_class"} <= set(errors)
    week = (await client.get("/api/admin/analytics", params={"window": "7d"})).json()
    assert len(week["series"]) == 7 and week["totals"]["turns"] >= data["totals"]["turns"]
    bad = await client.get("/api/admin/analytics", params={"window": "1y"})
    assert bad.status_code == 422


async def test_jobs_lists_every_users_jobs(app: FastAPI, client: httpx.AsyncClient) -> None:
    services: Services = app.state.services
    async with services.database.transaction() as session:
        user = await UserRepository(session).get_or_create("jobs-owner")
        await JobRepository(session).add(
            TranscriptionJob(
                user_id=user.id,
                filename="meeting.wav",
                media_key="jobs/x/meeting.wav",
                status="failed",
                error_code="unsupported_media",
                options=JobOptions(model="tiny.en").to_json(),
            )
        )
    data = (await client.get("/api/admin/jobs", params={"limit": 50})).json()
    assert data["counts"].get("failed", 0) >= 1
    mine = [job for job in data["recent"] if job["filename"] == "meeting.wav"]
    assert mine and mine[0]["status"] == "failed" and mine[0]["error_code"] == "unsupported_media"
    failed = (await client.get("/api/admin/jobs", params={"status": "failed"})).json()
    assert {job["status"] for job in failed["recent"]} == {"failed"}


def test_live_lists_open_voice_connections(tmp_path: Path) -> None:
    with (
        TestClient(create_app(make_settings(tmp_path))) as http,
        http.websocket_connect("/ws/voice/alice") as socket,
    ):
        assert socket.receive_json()["type"] == "ready"
        data = http.get("/api/admin/live").json()
        assert data["active_sessions"] == 1
        (connection,) = data["connections"]
        assert connection["user"] == "alice" and connection["endpoint"] == "voice"
        assert connection["path"] == "/ws/voice/alice" and connection["seconds"] >= 0
    # A fresh app is needed to see the count go back: the socket closed with the block.


async def test_dashboard_endpoints_are_for_admins_only(tmp_path: Path) -> None:
    async with running(secure_settings(tmp_path)) as (app, http):
        user, admin = await make_user(app), await make_user(app, role="admin")
        for path in ("/api/admin/analytics", "/api/admin/live", "/api/admin/jobs"):
            assert (await http.get(path)).status_code == 401
            assert (await http.get(path, headers=user.headers)).status_code == 403
            assert (await http.get(path, headers=admin.headers)).status_code == 200
