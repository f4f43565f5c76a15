"""``/api/transcriptions`` end to end on SQLite and PostgreSQL, with the embedded worker."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt
import webvtt
from fastapi import FastAPI

from ballsy.app import create_app
from ballsy.config import Settings
from tests.conftest import BACKENDS
from tests.fake_openai import free_port
from tests.jobs.conftest import job_settings, speech_wav
from tests.servers import create_database, drop_database


@pytest.fixture(scope="module", params=BACKENDS)
async def jobs_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    # A database of its own: another app's worker on the same tables would claim
    # these jobs without having their media.
    url = await create_database() if request.param == "postgres" else None
    settings = job_settings(
        tmp_path_factory.mktemp(f"jobs-{request.param}"), url, job_max_upload_bytes=3_000_000
    )
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        if url:
            await drop_database(url)


@pytest.fixture(scope="module")
async def http(jobs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=jobs_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="module")
def short_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return speech_wav(tmp_path_factory.mktemp("audio") / "talk-20s.wav", 20)


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.services.settings
    return settings


async def submit(http: httpx.AsyncClient, user: str, path: Path, **fields: str) -> dict[str, Any]:
    response = await http.post(
        "/api/transcriptions",
        files={"file": (path.name, await asyncio.to_thread(path.read_bytes), "audio/wav")},
        data={"client_id": user, **fields},
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/transcriptions/{response.json()['id']}"
    body: dict[str, Any] = response.json()
    return body


async def wait_for(
    http: httpx.AsyncClient, user: str, job_id: str, *, statuses: tuple[str, ...] = ("done",)
) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        response = await http.get(f"/api/transcriptions/{job_id}", params={"client_id": user})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in statuses:
            return body
        assert body["status"] in ("queued", "running"), body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


async def test_job_runs_to_valid_subtitles(
    http: httpx.AsyncClient, recording_40s: tuple[Path, str], client_id: str
) -> None:
    job = await submit(http, client_id, recording_40s[0], formats="srt,vtt,json,txt")
    assert job["status"] == "queued" and job["progress"]["total_seconds"] > 40
    done = await wait_for(http, client_id, job["id"])
    progress = done["progress"]
    assert progress["fraction"] == 1.0 and progress["chunks_done"] >= 3
    assert progress["processed_seconds"] == progress["total_seconds"]
    assert done["timings"]["audio_s_per_s"] > 1 and done["error"] is None

    async def result(fmt: str) -> httpx.Response:
        assert done["result_urls"][fmt].endswith(f"?format={fmt}")
        return await http.get(
            f"/api/transcriptions/{job['id']}/result",
            params={"client_id": client_id, "format": fmt},
        )

    srt_text = (await result("srt")).text
    cues = list(srt.parse(srt_text))
    assert len(cues) == progress["segments"] >= 4
    for before, after in itertools.pairwise(cues):
        assert before.start <= before.end <= after.start  # ordered, never overlapping
    vtt = await result("vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt.text)).captions
    assert [c.text for c in captions] == [c.content for c in cues]
    text = (await result("txt")).text
    assert "country" in text.lower() and "curtain" in text.lower()
    body = json.loads((await result("json")).text)
    assert body["duration"] == pytest.approx(progress["total_seconds"], abs=0.01)
    assert [s["text"] for s in body["segments"]] == [c.content for c in cues]


async def test_word_timestamps_and_live_events(
    http: httpx.AsyncClient, short_recording: tuple[Path, str], client_id: str
) -> None:
    job = await submit(http, client_id, short_recording[0], word_timestamps="true", formats="json")
    events: list[dict[str, Any]] = []
    async with http.stream(
        "GET", f"/api/transcriptions/{job['id']}/events", params={"client_id": client_id}
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data: ") and line != "data: {}":
                events.append(json.loads(line.removeprefix("data: ")))
    assert events[-1]["status"] == "done"
    processed = [e["progress"]["processed_seconds"] for e in events]
    assert processed == sorted(processed) and len(events) >= 2
    result = await http.get(
        f"/api/transcriptions/{job['id']}/result",
        params={"client_id": client_id, "format": "json"},
    )
    segments = result.json()["segments"]
    assert segments and all(s["words"] for s in segments)
    words = [w for s in segments for w in s["words"]]
    assert all(w["start"] <= w["end"] for w in words)


async def test_jobs_belong_to_their_user(
    http: httpx.AsyncClient, short_recording: tuple[Path, str], client_id: str
) -> None:
    job = await submit(http, client_id, short_recording[0])
    other = {"client_id": client_id + "-other"}
    base = f"/api/transcriptions/{job['id']}"
    for method, path in [("GET", base), ("GET", base + "/result"), ("GET", base + "/events"),
                         ("DELETE", base)]:  # fmt: skip
        response = await http.request(method, path, params=other)
        assert response.status_code == 404, (method, path, response.text)
    assert (await http.get("/api/transcriptions", params=other)).json()["items"] == []
    mine = (await http.get("/api/transcriptions", params={"client_id": client_id})).json()
    assert [item["id"] for item in mine["items"]] == [job["id"]]
    await wait_for(http, client_id, job["id"])


async def test_cancel_frees_the_files(
    http: httpx.AsyncClient, jobs_app: FastAPI, recording_40s: tuple[Path, str], client_id: str
) -> None:
    job = await submit(http, client_id, recording_40s[0])
    media_dir = settings_of(jobs_app).job_media_dir / "jobs"
    assert [p for p in media_dir.rglob(f"{job['id']}/media") if p.is_file()]
    cancelled = await http.delete(
        f"/api/transcriptions/{job['id']}", params={"client_id": client_id}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert not [p for p in media_dir.rglob(f"{job['id']}/*") if p.is_file()]
    early = await http.get(
        f"/api/transcriptions/{job['id']}/result", params={"client_id": client_id}
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "job_not_finished"
    partial = await http.get(
        f"/api/transcriptions/{job['id']}/result",
        params={"client_id": client_id, "partial": "true", "format": "vtt"},
    )
    assert partial.status_code == 200 and partial.text.startswith("WEBVTT")
    await asyncio.sleep(1.0)  # a worker that had it stops at its next chunk, writing nothing
    still = await http.get(f"/api/transcriptions/{job['id']}", params={"client_id": client_id})
    assert still.json()["status"] == "cancelled"
    deleted = await http.delete(f"/api/transcriptions/{job['id']}", params={"client_id": client_id})
    assert deleted.status_code == 204
    gone = await http.get(f"/api/transcriptions/{job['id']}", params={"client_id": client_id})
    assert gone.status_code == 404


async def test_bad_uploads_are_refused_at_once(
    http: httpx.AsyncClient, jobs_app: FastAPI, client_id: str, tmp_path: Path
) -> None:
    started = time.perf_counter()
    junk = await http.post(
        "/api/transcriptions",
        files={"file": ("talk.mp3", b"\x00\x01 this is not audio " * 2000)},
        data={"client_id": client_id},
    )
    assert junk.status_code == 400 and junk.json()["error"]["code"] == "unsupported_media"
    assert time.perf_counter() - started < 3
    too_big = await http.post(
        "/api/transcriptions",
        content=b"x" * 10,
        headers={"content-length": str(5_000_000), "content-type": "multipart/form-data"},
    )
    assert too_big.status_code == 413
    neither = await http.post("/api/transcriptions", data={"client_id": client_id})
    assert neither.status_code == 422
    unknown = await http.post(
        "/api/transcriptions",
        files={"file": ("a.wav", b"RIFF")},
        data={"client_id": client_id, "model": "whisper-9"},
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_model"
    assert not [p for p in (settings_of(jobs_app).job_media_dir).rglob("*") if p.is_file()
                and client_id in str(p)]  # fmt: skip


async def test_full_or_unavailable_storage_is_a_clear_error(
    http: httpx.AsyncClient, jobs_app: FastAPI, short_recording: tuple[Path, str], client_id: str,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    media = jobs_app.state.services.jobs.media
    files = {"file": ("talk.wav", short_recording[0].read_bytes(), "audio/wav")}
    monkeypatch.setattr(media, "min_free_bytes", 1 << 60)  # "the disk is full"
    full = await http.post("/api/transcriptions", files=files, data={"client_id": client_id})
    assert full.status_code == 507 and full.json()["error"]["code"] == "storage_full"
    monkeypatch.undo()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setattr(media, "root", blocker / "media")  # cannot be created
    down = await http.post("/api/transcriptions", files=files, data={"client_id": client_id})
    assert down.status_code == 503 and down.json()["error"]["code"] == "storage_unavailable"


async def test_a_file_already_in_storage_by_url(
    http: httpx.AsyncClient, jobs_app: FastAPI, short_recording: tuple[Path, str], client_id: str
) -> None:
    target = settings_of(jobs_app).job_media_dir / "users" / client_id / "talk.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(short_recording[0].read_bytes())
    data = {"client_id": client_id, "url": f"media:users/{client_id}/talk.wav", "formats": "srt"}
    response = await http.post("/api/transcriptions", data=data)
    assert response.status_code == 202, response.text
    done = await wait_for(http, client_id, response.json()["id"])
    assert list(done["result_urls"]) == ["srt"] and done["progress"]["segments"] > 0
    assert target.exists()  # the user's own file is never deleted
    for url, status in [("media:jobs/x/y.wav", 422), ("media:../etc/passwd", 422),
                        (f"media:users/{client_id}-other/talk.wav", 422),
                        (f"media:users/{client_id}/none.wav", 404), ("media:shared/none.wav", 404),
                        ("s3://bucket/a.wav", 422)]:  # fmt: skip
        refused = await http.post("/api/transcriptions", data={**data, "url": url})
        assert refused.status_code == status, (url, refused.text)


class _Receiver(BaseHTTPRequestHandler):
    calls: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(500 if len(self.calls) == 1 else 204)  # the first one fails
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    calls: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", calls
    server.shutdown()
    server.server_close()


async def test_webhook_is_signed_and_retried(
    http: httpx.AsyncClient,
    jobs_app: FastAPI,
    short_recording: tuple[Path, str],
    client_id: str,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, calls = receiver
    job = await submit(http, client_id, short_recording[0], webhook_url=url)
    await wait_for(http, client_id, job["id"])
    deadline = time.monotonic() + 15
    while len(calls) < 2:
        assert time.monotonic() < deadline, calls
        await asyncio.sleep(0.1)
    secret = settings_of(jobs_app).job_webhook_secret
    assert secret is not None
    headers, body = calls[-1]
    signed = headers["x-ballsy-timestamp"].encode() + b"." + body
    expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-ballsy-signature"], "sha256=" + expected)
    assert calls[0][0]["x-ballsy-delivery"] == headers["x-ballsy-delivery"]  # one delivery
    payload = json.loads(body)
    assert payload["event"] == "transcription.done" and payload["job"]["id"] == job["id"]
    bad = await http.post(
        "/api/transcriptions",
        files={"file": ("a.wav", short_recording[0].read_bytes())},
        data={"client_id": client_id, "webhook_url": "ftp://example.com/x"},
    )
    assert bad.status_code == 422
