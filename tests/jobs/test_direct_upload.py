"""Direct uploads: a signed URL puts a large recording straight into the job bucket.

S3 runs for real against moto's S3 server (a local HTTP server speaking the S3
protocol); the client ``PUT``\\ s over HTTP to the URL Ballsy signed, then the job runs
on it with the real worker and model. GCS signing is checked offline with a generated
service-account key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from fastapi import FastAPI
from moto.server import ThreadedMotoServer

from ballsy.app import create_app
from ballsy.jobs.storage.gcs import GcsStorage
from tests.fake_openai import free_port
from tests.jobs.conftest import job_settings, speech_wav
from tests.jobs.test_storage import _service_account

BUCKET = "ballsy-jobs"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=BUCKET
        )
        try:
            yield endpoint
        finally:
            server.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture(scope="module")
async def s3_app(
    s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    # The credentials are in the environment while s3_endpoint lives.
    settings = job_settings(
        tmp_path_factory.mktemp("jobs-s3"),
        job_storage="s3",
        job_storage_bucket=BUCKET,
        job_storage_prefix="team",
        job_s3_endpoint_url=s3_endpoint,
        job_s3_region="us-east-1",
        job_max_upload_bytes=3_000_000,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _slot(http: httpx.AsyncClient, user: str, **body: Any) -> httpx.Response:
    return await http.post("/api/transcriptions/uploads", params={"client_id": user}, json=body)


async def _wait_done(http: httpx.AsyncClient, user: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        response = await http.get(f"/api/transcriptions/{job_id}", params={"client_id": user})
        body: dict[str, Any] = response.json()
        if body["status"] == "done":
            return body
        assert body["status"] in ("queued", "running"), body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


async def test_a_file_put_to_the_signed_url_is_transcribed_then_deleted(
    s3_app: FastAPI, s3_endpoint: str, tmp_path: Path, client_id: str
) -> None:
    wav, _reference = speech_wav(tmp_path / "talk.wav", 12)
    data = wav.read_bytes()
    async with await _client(s3_app) as http:
        answer = await _slot(http, client_id, content_type="audio/wav", size=len(data))
        assert answer.status_code == 201, answer.text
        slot = answer.json()
        assert slot["method"] == "PUT" and slot["headers"] == {"Content-Type": "audio/wav"}
        assert slot["url"].startswith(f"s3://{BUCKET}/team/media/direct/")
        assert slot["max_bytes"] == 3_000_000
        # The bytes go to the bucket, not through Ballsy.
        async with httpx.AsyncClient() as bucket:
            put = await bucket.put(slot["upload_url"], content=data, headers=slot["headers"])
            assert put.status_code == 200, put.text
        # SigV4, bound to the content type (moto's server does not check signatures,
        # so the binding is checked on the URL itself).
        query = parse_qs(urlsplit(slot["upload_url"]).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")
        assert query["X-Amz-Expires"] == ["3600"]

        # Nobody else may submit it, and a mangled URL is refused.
        stranger = await http.post(
            "/api/transcriptions", data={"client_id": client_id + "-x", "url": slot["url"]}
        )
        assert stranger.status_code == 422, stranger.text

        submitted = await http.post(
            "/api/transcriptions",
            data={"client_id": client_id, "url": slot["url"], "filename": "Board call.wav"},
        )
        assert submitted.status_code == 202, submitted.text
        job = submitted.json()
        assert job["filename"] == "Board_call.wav"
        done = await _wait_done(http, client_id, job["id"])
        assert done["progress"]["segments"] > 0
        text = await http.get(
            f"/api/transcriptions/{job['id']}/result", params={"client_id": client_id}
        )
        assert text.status_code == 200 and len(text.text.split()) > 5, text.text

    # The direct upload was the job's: deleted once the job ended (JOB_KEEP_MEDIA off).
    key = slot["url"].removeprefix(f"s3://{BUCKET}/")
    listing = _s3(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix=key)
    assert listing.get("KeyCount", 0) == 0, listing


async def test_an_oversized_direct_upload_is_refused_and_deleted(
    s3_app: FastAPI, s3_endpoint: str, client_id: str
) -> None:
    async with await _client(s3_app) as http:
        declared = await _slot(http, client_id, size=3_000_001)
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"]["code"] == "payload_too_large"
        bad = await _slot(http, client_id, content_type="not a type")
        assert bad.status_code == 422, bad.text

        slot = (await _slot(http, client_id, size=1000)).json()  # it claimed 1000 bytes
        async with httpx.AsyncClient() as bucket:
            put = await bucket.put(
                slot["upload_url"], content=b"\0" * 3_000_001, headers=slot["headers"]
            )
            assert put.status_code == 200, put.text
        refused = await http.post(
            "/api/transcriptions", data={"client_id": client_id, "url": slot["url"]}
        )
        assert refused.status_code == 413, refused.text
        missing = await http.post(
            "/api/transcriptions", data={"client_id": client_id, "url": slot["url"]}
        )
        assert missing.status_code == 404, missing.text  # deleted when refused
    key = slot["url"].removeprefix(f"s3://{BUCKET}/")
    assert _s3(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) == 0


async def test_local_storage_says_to_send_the_file_itself(tmp_path: Path, client_id: str) -> None:
    application = create_app(job_settings(tmp_path))
    async with application.router.lifespan_context(application), await _client(application) as http:
        answer = await _slot(http, client_id, content_type="audio/wav")
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "direct_upload_unavailable"


async def test_gcs_signs_a_v4_put_url_bound_to_the_content_type() -> None:
    from google.cloud import storage as gcs
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(_service_account())
    client = gcs.Client(project="ballsy-test", credentials=credentials)
    storage = GcsStorage("recordings", "media", client=client)
    signed = await storage.signed_upload_url("direct/u/1/media", "audio/flac", 900)
    assert signed is not None
    parts = urlsplit(signed)
    assert parts.path == "/recordings/media/direct/u/1/media"
    query = parse_qs(parts.query)
    assert query["X-Goog-Expires"] == ["900"] and query["X-Goog-Signature"]
    assert "content-type" in query["X-Goog-SignedHeaders"][0].split(";")
