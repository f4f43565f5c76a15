"""Job uploads: stored under generated names, and a playlist upload refused unread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from ballsy.app import create_app
from ballsy.config import Settings
from tests.jobs.conftest import job_settings, speech_wav
from tests.untrusted_media import WatchedFile, atime_is_recorded, hls_playlist


@pytest.fixture(scope="module")
async def jobs_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = create_app(
        job_settings(tmp_path_factory.mktemp("jobs-untrusted"), job_keep_media=True)
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def http(jobs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=jobs_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def media_files(app: FastAPI) -> list[Path]:
    settings: Settings = app.state.services.settings
    root = settings.job_media_dir
    return [p.relative_to(root) for p in root.rglob("*") if p.is_file()]


async def test_a_playlist_upload_is_refused_and_what_it_names_unread(
    http: httpx.AsyncClient, jobs_app: FastAPI, fixtures_dir: Path, tmp_path: Path, client_id: str
) -> None:
    secret = WatchedFile.copy_of(fixtures_dir / "english.wav", tmp_path / "other-user.flac")
    response = await http.post(
        "/api/transcriptions",
        files={"file": ("x.m3u8", hls_playlist(secret.path))},
        data={"client_id": client_id},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "unsupported_media"
    assert str(tmp_path) not in response.text
    if atime_is_recorded(tmp_path):
        assert not secret.was_read
    assert not [p for p in media_files(jobs_app) if "m3u8" in str(p)]


async def test_stored_media_names_hold_no_user_text(
    http: httpx.AsyncClient, jobs_app: FastAPI, tmp_path: Path, client_id: str
) -> None:
    recording, _ = speech_wav(tmp_path / "talk.wav", 3)
    name = "Ada's meeting (draft).m3u8.wav"
    response = await http.post(
        "/api/transcriptions",
        files={"file": (name, recording.read_bytes(), "audio/wav")},
        data={"client_id": client_id},
    )
    assert response.status_code in (200, 201, 202), response.text
    job = response.json()
    assert job["filename"] == "Ada_s_meeting_draft_.m3u8.wav"  # kept, as metadata only
    stored = [p for p in media_files(jobs_app) if job["id"] in p.parts]
    assert stored and all(p.name == "media" for p in stored), stored
    assert not [p for p in media_files(jobs_app) if "Ada" in str(p) or client_id in str(p)]
