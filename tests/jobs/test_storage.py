"""Job storage: the local backend's edges, and the cloud backends' offline behaviour.

The S3 and GCS backends run their real SDKs: signing needs no network, and an S3
endpoint where nothing listens is what "storage unavailable" looks like.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ballsy.errors import (
    ConfigurationError,
    InvalidInput,
    PayloadTooLarge,
    StorageFull,
    StorageUnavailable,
)
from ballsy.jobs.storage.base import JOB_STORAGES, build_storages, storage_error
from ballsy.jobs.storage.gcs import GcsStorage
from ballsy.jobs.storage.local import LocalStorage
from ballsy.jobs.storage.s3 import S3Storage
from tests.conftest import make_settings
from tests.fake_openai import free_port


async def pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_local_storage_round_trip_and_refusals(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media", scheme="media")
    assert await storage.save("a/b.wav", pieces(b"12", b"34"), limit=10) == 4
    assert await storage.get_bytes("a/b.wav") == b"1234"
    assert await storage.size("a/b.wav") == 4 and await storage.size("nope") is None
    assert storage.key_from_url(storage.url_for("a/b.wav")) == "a/b.wav"
    with pytest.raises(PayloadTooLarge):
        await storage.save("a/c.wav", pieces(b"x" * 6, b"x" * 6), limit=10)
    assert sorted(p.name for p in (tmp_path / "media" / "a").iterdir()) == ["b.wav"]  # no .part
    for key in ("../x", "a/../../x", "/etc/passwd", ""):
        with pytest.raises(InvalidInput):
            storage.path(key)
    with pytest.raises(InvalidInput):
        storage.key_from_url("file:///etc/passwd")
    await storage.delete("a/b.wav")
    await storage.delete("a/b.wav")  # twice is fine
    assert await storage.signed_url("a/b.wav", 60) is None  # the API serves local files


def test_os_errors_become_typed_storage_errors() -> None:
    assert isinstance(storage_error(OSError(errno.ENOSPC, "full"), "upload"), StorageFull)
    assert isinstance(storage_error(OSError(errno.EDQUOT, "quota"), "upload"), StorageFull)
    assert isinstance(storage_error(OSError(errno.EACCES, "denied"), "upload"), StorageUnavailable)
    assert StorageFull.status_code == 507 and StorageUnavailable.status_code == 503


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


async def test_s3_signs_urls_and_reports_an_unreachable_endpoint(aws_env: None) -> None:
    storage = S3Storage(
        "recordings", "ballsy/media", endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
    )  # fmt: skip
    assert storage.url_for("a.wav") == "s3://recordings/ballsy/media/a.wav"
    assert storage.key_from_url("s3://recordings/ballsy/media/in/a.wav") == "in/a.wav"
    with pytest.raises(InvalidInput):
        storage.key_from_url("s3://other-bucket/ballsy/media/a.wav")
    signed = await storage.signed_url("x/transcript.srt", 600)
    assert signed is not None
    query = parse_qs(urlsplit(signed).query)
    assert urlsplit(signed).path == "/recordings/ballsy/media/x/transcript.srt"
    assert "X-Amz-Signature" in query or "Signature" in query
    with pytest.raises(StorageUnavailable):  # nothing listens there
        await storage.put_bytes("x/transcript.txt", b"hello", "text/plain")
    with pytest.raises(StorageUnavailable):
        await storage.save("y.wav", pieces(b"abc"), limit=100)


def _service_account() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "ballsy-test",
        "private_key_id": "1",
        "private_key": pem,
        "client_email": "ballsy@ballsy-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


async def test_gcs_signs_v4_urls_offline() -> None:
    from google.cloud import storage as gcs
    from google.oauth2 import service_account

    credentials = service_account.Credentials.from_service_account_info(_service_account())
    client = gcs.Client(project="ballsy-test", credentials=credentials)
    storage = GcsStorage("recordings", "outputs", client=client)
    assert storage.url_for("j/transcript.vtt") == "gs://recordings/outputs/j/transcript.vtt"
    signed = await storage.signed_url("j/transcript.vtt", 900)
    assert signed is not None
    parts = urlsplit(signed)
    assert parts.path == "/recordings/outputs/j/transcript.vtt"
    query = parse_qs(parts.query)
    assert query["X-Goog-Expires"] == ["900"] and query["X-Goog-Signature"]


def test_backends_register_by_name_and_build_their_pair(tmp_path: Path) -> None:
    assert set(JOB_STORAGES.names()) == {"local", "gcs", "s3"}
    media, outputs = build_storages(make_settings(tmp_path))
    assert isinstance(media, LocalStorage) and isinstance(outputs, LocalStorage)
    assert media.local_path("a.wav") == tmp_path / "media" / "a.wav"
    settings = make_settings(
        tmp_path,
        job_storage="s3",
        job_storage_bucket="bucket",
        job_storage_prefix="/team/",
        job_s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        job_s3_region="eu-west-1",
    )
    media, outputs = build_storages(settings)
    assert isinstance(media, S3Storage) and isinstance(outputs, S3Storage)
    assert (media.url_for("a.wav"), outputs.url_for("a.txt")) == (
        "s3://bucket/team/media/a.wav",
        "s3://bucket/team/outputs/a.txt",
    )
    assert media.local_path("a.wav") is None
    media.check_room(10**15)  # a bucket has no free-space figure: nothing to refuse
    with pytest.raises(ConfigurationError, match="JOB_STORAGE_BUCKET"):
        build_storages(make_settings(tmp_path, job_storage="gcs"))
