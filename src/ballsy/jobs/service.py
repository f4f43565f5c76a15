"""JobService: what the API and the CLI call to submit, watch, read and cancel jobs.

It owns the job storage, the queue, the batch lane and — in the web process with the
embedded queue — a worker. Every read and change takes a :data:`~ballsy.scope.Scope`:
a user's own (another user's job is simply not found), or every user's for admins
and the operator CLI.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ballsy.config import Settings
from ballsy.errors import (
    DirectUploadUnavailable,
    InvalidInput,
    JobNotFinished,
    NotFound,
    PayloadTooLarge,
)
from ballsy.jobs.chunking import probe_media
from ballsy.jobs.context import JobContext
from ballsy.jobs.events import EventSink, ProgressBus
from ballsy.jobs.lane import BatchLane
from ballsy.jobs.options import TERMINAL, JobEvent, JobOptions, JobStatus, OutputFormat
from ballsy.jobs.outbox import WebhookOutbox
from ballsy.jobs.queue.base import JobQueue, build_queue
from ballsy.jobs.results import JobView, build_transcript, render, segments_of
from ballsy.jobs.retention import delete_job_files
from ballsy.jobs.runner import JobRunner
from ballsy.jobs.storage.base import build_storages
from ballsy.jobs.webhooks import resolve_webhook
from ballsy.jobs.worker import JobWorker, worker_identity
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.scope import Scope
from ballsy.speech.runtime import InferenceRuntime
from ballsy.speech.stt import stt_spec
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionJob, new_id, utcnow

log = get_logger("ballsy.jobs")
# Uploaded media lives under this prefix, out of reach of submitted URLs.
UPLOAD_PREFIX = "jobs/"
# The stored name of every upload: nothing the user wrote reaches the file system, so
# no extension (``x.m3u8``) can steer FFmpeg. The user's name is the job's metadata.
UPLOAD_NAME = "media"
# What a submitted storage URL may name: the caller's own folder, or the shared one.
USER_PREFIX = "users/{name}/"
SHARED_PREFIX = "shared/"
# Where a direct upload (a signed PUT straight into the bucket) lands: generated ids
# only. Such media is the job's, deleted with it like an upload through the API.
DIRECT_PREFIX = "direct/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SubmitSource = Literal["upload", "url", "cli"]


def safe_filename(name: str | None) -> str:
    base = (name or "audio").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._") or "audio"
    return cleaned[:100]


@dataclass(frozen=True)
class DirectUpload:
    """Where a client puts a large file itself: a signed ``PUT`` URL into the bucket,
    and the storage URL to submit once it is there."""

    upload_url: str
    headers: dict[str, str]
    url: str
    expires_at: datetime
    max_bytes: int


def direct_key(user_id: str, upload_id: str) -> str:
    """Where a direct upload lands (``direct/<user id>/<upload id>/media``)."""
    return f"{DIRECT_PREFIX}{user_id}/{upload_id}/{UPLOAD_NAME}"


def upload_key(user_id: str, job_id: str) -> str:
    """Where an upload is stored: generated ids only (``jobs/<user id>/<job id>/media``)."""
    return f"{UPLOAD_PREFIX}{user_id}/{job_id}/{UPLOAD_NAME}"


class JobService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        interactive: InferenceRuntime | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.media, self.outputs = build_storages(settings)
        self.queue: JobQueue = build_queue(settings)
        self.bus = ProgressBus()
        self.lane = BatchLane(settings, interactive=interactive)
        self.context = JobContext(settings, database, self.media, self.outputs, self.lane, self.bus)
        self.worker: JobWorker | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, run_worker: bool) -> None:
        try:
            await self.queue.start()
        except Exception as exc:  # submissions still land in the database
            log.warning("ballsy.jobs.queue_unavailable", error=f"{type(exc).__name__}: {exc}")
        if run_worker:
            self.worker = self.new_worker()
            await self.worker.start()

    def new_worker(self) -> JobWorker:
        return JobWorker(self.context, self.queue)

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        await self.lane.close()
        with contextlib.suppress(Exception):
            await self.queue.close()

    # --- submitting ----------------------------------------------------------------------

    async def check_options(self, options: JobOptions, webhook_url: str | None) -> None:
        """Refuse what would fail later, before a byte is stored.

        A webhook's host is looked up off the event loop, within
        ``JOB_WEBHOOK_RESOLVE_TIMEOUT``; each send looks it up (and checks it) again.
        """
        stt_spec(options.model).check(options.transcribe_options())
        if webhook_url is not None:
            if self.settings.job_webhook_secret is None:
                raise InvalidInput(
                    "this server sends no webhooks (JOB_WEBHOOK_SECRET is not set)",
                    detail={"field": "webhook_url"},
                )
            await resolve_webhook(
                webhook_url,
                allow_private=self.settings.webhooks_may_reach_private,
                lookup_seconds=self.settings.job_webhook_resolve_timeout,
            )

    def check_room(self, declared_bytes: int | None) -> None:
        """507 before reading the body when the local disk cannot take it."""
        self.media.check_room(declared_bytes or 0)

    async def submit_upload(
        self,
        user_id: str,
        chunks: AsyncIterator[bytes],
        *,
        filename: str | None,
        options: JobOptions,
        webhook_url: str | None = None,
        declared_bytes: int | None = None,
        source: SubmitSource = "upload",
        dispatch: bool = True,
    ) -> JobView:
        await self.check_options(options, webhook_url)
        self.check_room(declared_bytes)
        job_id = new_id()
        name = safe_filename(filename)
        key = upload_key(user_id, job_id)
        size = await self.media.save(key, chunks, limit=self.settings.job_max_upload_bytes)
        duration = None
        local = self.media.local_path(key)
        if local is not None:
            # Local: a quick look now makes a corrupt file a 400 at once. Remote media
            # is probed by the worker before anything else.
            try:
                info = await self.lane.run(probe_media, local, self.settings.job_max_audio_seconds)
            except BaseException:
                await self.media.delete(key)
                raise
            duration = info.duration
        job = TranscriptionJob(id=job_id, user_id=user_id, filename=name, duration=duration)
        job.media_key, job.owns_media, job.media_bytes = key, True, size
        return await self._enqueue(job, options, webhook_url, source, dispatch=dispatch)

    async def direct_upload(
        self, user_id: str, *, content_type: str, size: int | None = None
    ) -> DirectUpload:
        """A signed ``PUT`` URL for one large file, straight into the bucket, so no
        request to Ballsy carries it (Cloud Run caps a request at 32 MiB). 409
        ``direct_upload_unavailable`` where media is on this machine's disk: there the
        file goes in the ``POST`` itself."""
        limit = self.settings.job_max_upload_bytes
        if size is not None and size > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes", detail={"limit": limit})
        key = direct_key(user_id, new_id())
        ttl = self.settings.job_upload_url_ttl
        signed = await self.media.signed_upload_url(key, content_type, ttl)
        if signed is None:
            raise DirectUploadUnavailable(
                f"direct uploads need bucket storage (JOB_STORAGE=gcs or s3; this server "
                f"uses {self.media.name}): send the file in POST /api/transcriptions",
                detail={"storage": self.media.name},
            )
        return DirectUpload(
            upload_url=signed,
            headers={"Content-Type": content_type},
            url=self.media.url_for(key),
            expires_at=utcnow() + timedelta(seconds=ttl),
            max_bytes=limit,
        )

    async def submit_url(
        self,
        user_id: str,
        url: str,
        *,
        user_name: str,
        options: JobOptions,
        webhook_url: str | None = None,
        filename: str | None = None,
    ) -> JobView:
        """A job on a file already in media storage: under ``users/<name>/`` or
        ``shared/`` (the user's, never deleted by us), or a direct upload of this user's
        (the job's: size-checked now, deleted with the job)."""
        await self.check_options(options, webhook_url)
        key = self.media.key_from_url(url)
        direct = key.startswith(f"{DIRECT_PREFIX}{user_id}/")
        allowed = (USER_PREFIX.format(name=user_name), SHARED_PREFIX)
        if not direct and not key.startswith(allowed):
            raise InvalidInput(
                f"a storage URL must name a file under {allowed[0]} or {allowed[1]}, "
                "or a direct upload of yours",
                detail={"field": "url"},
            )
        size = await self.media.size(key)
        if size is None:
            raise NotFound("no file at that storage URL", detail={"field": "url"})
        limit = self.settings.job_max_upload_bytes
        if direct and size > limit:
            await self.media.delete(key)
            raise PayloadTooLarge(f"the file is larger than {limit} bytes", detail={"limit": limit})
        name = safe_filename(filename or key)
        job = TranscriptionJob(user_id=user_id, filename=name)
        job.media_key, job.owns_media, job.media_bytes = key, direct, size
        return await self._enqueue(job, options, webhook_url, "url")

    async def _enqueue(
        self,
        job: TranscriptionJob,
        options: JobOptions,
        webhook_url: str | None,
        source: SubmitSource,
        *,
        dispatch: bool = True,
    ) -> JobView:
        now = utcnow()
        job.status, job.options, job.webhook_url = "queued", options.to_json(), webhook_url
        job.created_at = job.updated_at = now
        job.processed_seconds, job.chunks_done, job.segments_done, job.attempts = 0.0, 0, 0, 0
        job.outputs, job.timings = {}, {}
        async with self.database.transaction() as session:
            await JobRepository(session).add(job)
        metrics.JOBS_SUBMITTED.labels(source).inc()
        log.info("ballsy.jobs.submitted", job_id=job.id, bytes=job.media_bytes, source=source)
        if not dispatch:  # the caller runs it itself (the CLI)
            return JobView.of(job)
        try:
            await self.queue.dispatch(job.id, 0)
        except Exception as exc:  # it is in the database: a reconciler dispatches it later
            log.warning("ballsy.jobs.dispatch_failed", job_id=job.id, error=type(exc).__name__)
        return JobView.of(job)

    # --- reading -------------------------------------------------------------------------

    async def _row(self, scope: Scope, job_id: str) -> TranscriptionJob:
        async with self.database.transaction() as session:
            job = await JobRepository(session).get(job_id, scope)
        if job is None:
            raise NotFound("no transcription job with that id")
        return job

    async def get(self, scope: Scope, job_id: str) -> JobView:
        return JobView.of(await self._row(scope, job_id))

    async def list(
        self, scope: Scope, *, limit: int, offset: int = 0, status: JobStatus | None = None
    ) -> list[JobView]:
        async with self.database.transaction() as session:
            jobs = await JobRepository(session).page(
                scope, limit=limit, offset=offset, status=status
            )
        now = utcnow()
        return [JobView.of(job, now) for job in jobs]

    async def result(
        self, scope: Scope, job_id: str, fmt: OutputFormat, *, partial: bool = False
    ) -> str:
        """The transcript in ``fmt``; before the job is done only with ``partial``."""
        job = await self._row(scope, job_id)
        if job.status != "done" and not partial:
            raise JobNotFinished(
                f"the job is {job.status}; ask with partial=true for what is finished so far",
                detail={"status": job.status, "processed_seconds": job.processed_seconds},
            )
        async with self.database.transaction() as session:
            chunks = await JobRepository(session).chunks(job.id)
        duration = chunks[-1].end_sample / 16_000 if chunks else 0.0
        transcript = build_transcript(segments_of(chunks), language=job.language, duration=duration)
        return render(transcript, fmt, JobOptions.from_json(job.options))

    async def get_with_downloads(self, scope: Scope, job_id: str) -> tuple[JobView, dict[str, str]]:
        """The job and, once done, signed URLs of its stored outputs by format (cloud
        storage; none when outputs are served by the API itself)."""
        job = await self._row(scope, job_id)
        view = JobView.of(job)
        urls: dict[str, str] = {}
        if view.status == "done":
            for fmt in view.options.formats:
                key = job.outputs.get(fmt)
                if key is None:
                    continue
                signed = await self.outputs.signed_url(str(key), self.settings.job_signed_url_ttl)
                if signed:
                    urls[fmt] = signed
        return view, urls

    async def events(self, scope: Scope, job_id: str) -> AsyncIterator[JobView]:
        """The job now, then after every change, until it ends (SSE)."""
        last: JobEvent | None = None
        while True:
            view = await self.get(scope, job_id)
            event = view.event()
            if event != last:
                last = event
                yield view
            if view.status in TERMINAL:
                return
            await self.bus.wait(job_id, self.settings.job_poll_seconds)

    # --- changing ------------------------------------------------------------------------

    async def cancel(self, scope: Scope, job_id: str) -> JobView | None:
        """Cancel an active job (kept, as cancelled) or delete a finished one (None).

        Either way its files are freed; a worker running it notices at its next chunk.
        """
        job = await self._row(scope, job_id)
        async with self.database.transaction() as session:
            cancelled = await JobRepository(session).cancel(job.id, scope, utcnow())
        if cancelled:
            job = await self._row(scope, job_id)
            await delete_job_files(job, self.media, self.outputs)
            view = JobView.of(job)
            self.bus.publish(view.event())
            log.info("ballsy.jobs.cancelled", job_id=job.id)
            return view
        await delete_job_files(job, self.media, self.outputs)
        async with self.database.transaction() as session:
            await JobRepository(session).delete([job.id])
        return None

    async def run_here(self, job_id: str, on_event: EventSink | None = None) -> JobStatus | None:
        """Run one job in this process, now (``ballsy transcribe --progress``)."""
        owner = worker_identity()
        status = await JobRunner(self.context, owner=owner).run(job_id, on_event=on_event)
        # One try at its webhook now; a worker retries it if that one fails.
        with contextlib.suppress(Exception):
            await WebhookOutbox(self.context, owner=owner).deliver_due()
        return status
