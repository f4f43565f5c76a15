"""Retention: finished jobs, their transcripts and recordings, deleted after a while.

``JOB_RETENTION_HOURS`` after a job finished (done, failed or cancelled) its files
and rows go. Uploaded recordings usually go sooner: right after the job ends, unless
``JOB_KEEP_MEDIA`` is set. Media named by URL belongs to the user and is never
deleted.

The same pass deletes the reply speech of ``/api/voice?audio=url`` turns older than
``VOICE_AUDIO_TTL`` (:func:`delete_older_than`; the assistant also drops an expired
one when it is asked for or when the user's next one is written).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from ballsy.jobs.context import JobContext
from ballsy.jobs.storage.base import JobStorage
from ballsy.observability.logging import get_logger
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionJob

log = get_logger("ballsy.jobs.retention")
_BATCH = 200


async def delete_job_files(job: TranscriptionJob, media: JobStorage, outputs: JobStorage) -> None:
    """Every file of ``job`` that is ours to delete; a missing one is fine."""
    with contextlib.suppress(Exception):
        if job.owns_media:
            await media.delete(job.media_key)
    for key in job.outputs.values():
        with contextlib.suppress(Exception):
            await outputs.delete(str(key))


def delete_older_than(folder: Path, max_age_seconds: float, *, now: float) -> int:
    """Delete the files under ``folder`` last written more than ``max_age_seconds``
    before ``now`` (a ``time.time()``); how many went. A missing folder is fine."""
    deleted = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            with contextlib.suppress(OSError):  # gone already, or being written
                if now - path.stat().st_mtime > max_age_seconds:
                    path.unlink()
                    deleted += 1
    return deleted


async def purge_expired(
    context: JobContext, *, now: datetime, retention_hours: float | None = None
) -> int:
    """Delete jobs finished more than ``retention_hours`` (default: JOB_RETENTION_HOURS)
    ago; how many went."""
    settings = context.settings
    replies = await asyncio.to_thread(
        delete_older_than, settings.reply_audio_dir, settings.voice_audio_ttl, now=now.timestamp()
    )
    if replies:
        log.info("ballsy.voice.reply_audio_purged", count=replies)
    if retention_hours is None:
        retention_hours = settings.job_retention_hours
    if retention_hours <= 0:
        return 0
    cutoff = now - timedelta(hours=retention_hours)
    purged = 0
    database = context.database
    while True:
        async with database.transaction() as session:
            jobs = await JobRepository(session).finished_before(cutoff, limit=_BATCH)
        if not jobs:
            break
        for job in jobs:
            await delete_job_files(job, context.media, context.outputs)
        async with database.transaction() as session:
            await JobRepository(session).delete([job.id for job in jobs])
        purged += len(jobs)
        if len(jobs) < _BATCH:
            break
    if purged:
        log.info("ballsy.jobs.purged", count=purged)
    return purged
