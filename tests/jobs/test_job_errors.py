"""A job that fails on an unexpected exception shows the user our message, not its text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ballsy.errors import UnsupportedMedia
from ballsy.jobs.chunking import probe_media
from ballsy.jobs.options import JobOptions
from ballsy.jobs.runner import INTERNAL_ERROR_MESSAGE, JobRunner
from ballsy.jobs.service import JobService
from ballsy.scope import Owner
from ballsy.store.db import Database
from ballsy.store.repositories import UserRepository
from tests.conftest import FIXTURES
from tests.jobs.conftest import job_settings


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_raw_exception_text_is_never_a_job_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = job_settings(tmp_path, job_max_attempts=1)
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    secret = "/srv/secret/path and a transcript: hello Ada"

    async def explode(*_: object) -> None:
        raise RuntimeError(secret)

    monkeypatch.setattr(JobRunner, "_process", explode)
    try:
        async with database.transaction() as session:
            user = await UserRepository(session).get_or_create("job-errors")
        view = await service.submit_upload(
            user.id, _chunks((FIXTURES / "jfk.flac").read_bytes()), filename="jfk.flac",
            options=JobOptions(model=settings.stt_model), dispatch=False,
        )  # fmt: skip
        assert await service.run_here(view.id) == "failed"
        failed = await service.get(Owner(user.id), view.id)
        assert failed.error_code == "internal_error"
        assert failed.error is not None and secret not in failed.error
        assert INTERNAL_ERROR_MESSAGE in failed.error
    finally:
        await service.close()
        await database.dispose()


async def test_undecodable_media_does_not_echo_the_server_path(tmp_path: Path) -> None:
    junk = tmp_path / "secret-name.wav"
    junk.write_bytes(b"not audio at all" * 64)
    with pytest.raises(UnsupportedMedia) as caught:
        probe_media(junk, 60.0)
    assert str(tmp_path) not in str(caught.value.detail)
