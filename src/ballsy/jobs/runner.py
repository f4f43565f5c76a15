"""Running one job: claim, resume, transcribe chunk by chunk, finish, or retry.

Crash safety comes from the order of writes. A chunk's segments and the job's
progress are committed together, in one transaction, after the chunk is transcribed
and before the next one starts; a worker killed at any instant therefore leaves
either all of a chunk or none of it. The next worker (after the lease runs out)
reads the last chunk's ``end_sample`` and decodes on from exactly there, and
``iter_chunks`` cuts the same chunks from that point as the first run would have, so
the finished transcript has no gap, no overlap and no duplicate.

Between commits, progress moves live: as the decoder places segments, the job row's
``processed_seconds`` and ``segments_done`` are updated (at most once per
``LIVE_PROGRESS_SECONDS``, while the lease is ours) and an event goes out. Those
values are a display only. The committed chunks stay the truth: a resumed attempt
starts from the last chunk's end and counts its segments again, so after a crash the
shown progress may step back to where the last chunk ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Generator
from datetime import datetime, timedelta
from typing import Any

from ballsy.errors import (
    AudioTooLong,
    BallsyError,
    InvalidInput,
    ModelUnavailable,
    PayloadTooLarge,
    UnknownModel,
    UnsupportedMedia,
)
from ballsy.jobs.chunking import RATE, ChunkAudio, iter_chunks, probe_media, vad_speech_finder
from ballsy.jobs.context import JobContext
from ballsy.jobs.decoder import DecodeProgress, transcribe_chunk
from ballsy.jobs.events import EventSink, LiveProgress, ProgressSink
from ballsy.jobs.options import MEDIA_TYPES, JobOptions, JobStatus
from ballsy.jobs.queue.base import Heartbeat
from ballsy.jobs.results import JobView, build_transcript, render, segment_to_json, segments_of
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.scope import ALL_USERS
from ballsy.speech.runtime import ModelSlot, release_memory
from ballsy.speech.stt import Segment, SpeechToText
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import TranscriptionChunk, TranscriptionJob, WebhookDelivery, utcnow

log = get_logger("ballsy.jobs.runner")

# Errors that retrying cannot fix: the job fails at once, with this message.
PERMANENT = (UnsupportedMedia, InvalidInput, AudioTooLong, UnknownModel, PayloadTooLarge)
INTERNAL_ERROR_MESSAGE = "the transcription failed on the server"
# Live progress: at most one row update and event per this many seconds while a chunk
# decodes (the decoder reports every segment batch, which may come faster).
LIVE_PROGRESS_SECONDS = 1.0
Requeue = Callable[[str, int, datetime], Awaitable[None]]


class JobLost(Exception):
    """The job was cancelled, or another worker took it over: stop, write nothing."""


def _next_chunk(chunks: Generator[ChunkAudio, None, None]) -> ChunkAudio | None:
    return next(chunks, None)


class JobRunner:
    """Runs jobs for one worker identity (``owner``); any number concurrently."""

    def __init__(
        self,
        context: JobContext,
        *,
        owner: str,
        requeue: Requeue | None = None,
        webhook_ready: Callable[[], None] | None = None,
    ) -> None:
        self.settings = context.settings
        self.database = context.database
        self.media = context.media
        self.outputs = context.outputs
        self.lane = context.lane
        self.bus = context.bus
        self.owner = owner
        self.requeue = requeue
        self.webhook_ready = webhook_ready  # wakes the outbox loop (ballsy.jobs.outbox)

    async def run(
        self, job_id: str, *, on_event: EventSink | None = None, heartbeat: Heartbeat | None = None
    ) -> JobStatus | None:
        """Run ``job_id`` if it can be claimed; its final status, or None if not ours."""
        now = utcnow()
        async with self.database.transaction() as session:
            if not await JobRepository(session).claim(
                job_id, self.owner, now, self.settings.job_lease_seconds
            ):
                return None
            job = await JobRepository(session).get(job_id, ALL_USERS)
        assert job is not None
        sink = ProgressSink(self.bus, on_event)
        if job.attempts > self.settings.job_max_attempts:
            return await self._fail(
                job, "worker_lost", self._gave_up(job.attempts - 1, "its worker stopped each time")
            )
        metrics.JOBS_RUNNING.inc()
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(job_id, lost, heartbeat))
        try:
            async with self.lane.seat() as seat:
                return await self._process(job, lost, sink, seat)
        except JobLost:
            log.info("ballsy.jobs.lost", job_id=job_id)
            return None
        except asyncio.CancelledError:
            # Worker shutdown: hand the job back at once instead of after the lease.
            await asyncio.shield(self._release(job_id))
            raise
        except PERMANENT as exc:
            return await self._fail(job, exc.code, exc.message)
        except FileNotFoundError:
            return await self._fail(job, "media_missing", "the recording is no longer in storage")
        except Exception as exc:
            return await self._retry(job, exc)
        finally:
            keeper.cancel()
            metrics.JOBS_RUNNING.dec()

    # --- the work ----------------------------------------------------------------------

    async def _process(
        self, job: TranscriptionJob, lost: asyncio.Event, sink: ProgressSink, seat: int
    ) -> JobStatus:
        options = JobOptions.from_json(job.options)
        slot = self.lane.slot(options.model, seat)
        started = time.monotonic()
        last = await self._resume_point(job)
        job.timings = {
            **job.timings,
            "attempt_started_at": utcnow().isoformat(),
            "attempt_from_s": job.processed_seconds,
        }
        await self._update(
            job,
            timings=job.timings,
            processed_seconds=job.processed_seconds,
            segments_done=job.segments_done,
        )
        async with self.media.local_copy(job.media_key) as path:
            if job.duration is None and job.chunks_done == 0:
                info = await self.lane.run(probe_media, path, self.settings.job_max_audio_seconds)
                job.duration = info.duration
                await self._update(job, duration=info.duration)
            log.info(
                "ballsy.jobs.started",
                job_id=job.id,
                attempt=job.attempts,
                resume_at_s=job.processed_seconds,
            )
            await self.lane.run(slot.get)  # loads on a lane thread: low priority inherited
            live = self._live_progress(job, sink, started)
            transcribe = self._transcriber(slot, options, live.report)
            chunks = iter_chunks(
                path,
                chunk_seconds=self.settings.job_chunk_seconds,
                start_sample=last.end_sample if last else 0,
                first_index=last.index + 1 if last else 0,
                find_speech=vad_speech_finder(),
            )
            try:
                while not lost.is_set():
                    began = time.monotonic()
                    chunk = await self.lane.run(_next_chunk, chunks)
                    if chunk is None:
                        break
                    self._check_length(chunk)
                    segments, language = await self.lane.run(transcribe, chunk, job.language)
                    await live.settle()  # no live update may land after the commit
                    await self._commit(job, chunk, segments, language)
                    metrics.JOB_CHUNK_SECONDS.observe(time.monotonic() - began)
                    metrics.JOB_AUDIO_SECONDS.inc(len(chunk.samples) / RATE)
                    sink.emit(job, started)
                    live.mark_shown()
                    del chunk, segments
                    # Chunk-sized buffers come and go in several threads' malloc arenas;
                    # handing the free pages back each chunk keeps RSS flat over hours.
                    await self.lane.run(release_memory)
            finally:
                live.close()
                chunks.close()
        if lost.is_set():
            raise JobLost(job.id)
        return await self._finish(job, options, sink, time.monotonic() - started)

    async def _resume_point(self, job: TranscriptionJob) -> TranscriptionChunk | None:
        """The last committed chunk; the job's progress set back to what is committed.

        The row may show live progress from a chunk a lost worker never committed.
        """
        async with self.database.transaction() as session:
            repo = JobRepository(session)
            last = await repo.last_chunk(job.id)
            job.segments_done = await repo.committed_segments(job.id) if last else 0
        job.processed_seconds = last.end_sample / RATE if last else 0.0
        return last

    def _live_progress(
        self, job: TranscriptionJob, sink: ProgressSink, started: float
    ) -> LiveProgress:
        """Shows the decoder's position inside the current chunk: the row, then an event."""

        async def show(position: float, segments: int) -> None:
            processed = max(job.processed_seconds, position)
            segments_done = job.segments_done + segments
            try:
                async with self.database.transaction() as session:
                    shown = await JobRepository(session).show_progress(
                        job.id, self.owner, utcnow(), processed, segments_done
                    )
            except Exception as exc:  # a database blip: the next update or commit catches up
                log.warning(
                    "ballsy.jobs.live_progress_failed", job_id=job.id, error=type(exc).__name__
                )
                return
            if shown:  # else the job is no longer ours: the commit will find out
                sink.emit(job, started, processed=processed, segments=segments_done)

        loop = asyncio.get_running_loop()
        return LiveProgress(loop, show, interval=LIVE_PROGRESS_SECONDS)

    def _transcriber(
        self, slot: ModelSlot[SpeechToText], options: JobOptions, on_progress: DecodeProgress
    ) -> Callable[[ChunkAudio, str | None], tuple[list[Segment], str | None]]:
        """Transcribes one chunk in the language found so far (run on a lane thread)."""
        batched = self.settings.job_decoder == "batched"
        batch_size = self.settings.job_batch_size

        def transcribe(chunk: ChunkAudio, language: str | None) -> tuple[list[Segment], str | None]:
            with slot.lease() as engine:
                return transcribe_chunk(
                    engine,
                    chunk,
                    options,
                    language,
                    batched=batched,
                    batch_size=batch_size,
                    on_progress=on_progress,
                )

        return transcribe

    def _check_length(self, chunk: ChunkAudio) -> None:
        limit = self.settings.job_max_audio_seconds
        if chunk.end_sample / RATE > limit:
            raise AudioTooLong(f"the recording is longer than the {limit:g} s jobs accept")

    async def _commit(
        self,
        job: TranscriptionJob,
        chunk: ChunkAudio,
        segments: list[Segment],
        language: str | None,
    ) -> None:
        row = TranscriptionChunk(
            job_id=job.id,
            index=chunk.index,
            start_sample=chunk.start_sample,
            end_sample=chunk.end_sample,
            segments={"segments": [segment_to_json(s) for s in segments]},
        )
        processed = chunk.end_sample / RATE
        segments_done = job.segments_done + len(segments)
        progress = {
            "processed_seconds": processed,
            "segments_done": segments_done,
            "language": language,
        }
        lease = self.settings.job_lease_seconds
        async with self.database.transaction() as session:
            repo = JobRepository(session)
            owned = await repo.add_chunk(row, self.owner, utcnow(), lease, **progress)
            if not owned:
                raise JobLost(job.id)  # leaving the block rolls the chunk back
        job.chunks_done, job.processed_seconds = chunk.index + 1, processed
        job.segments_done, job.language = segments_done, language

    async def _finish(
        self, job: TranscriptionJob, options: JobOptions, sink: ProgressSink, seconds: float
    ) -> JobStatus:
        async with self.database.transaction() as session:
            chunks = await JobRepository(session).chunks(job.id)
        duration = chunks[-1].end_sample / RATE if chunks else 0.0
        transcript = build_transcript(segments_of(chunks), language=job.language, duration=duration)
        written: dict[str, str] = {}
        for fmt in options.formats:
            key = f"{job.id}/transcript.{fmt}"
            text = render(transcript, fmt, options).encode()
            await self.outputs.put_bytes(key, text, MEDIA_TYPES[fmt])
            written[fmt] = key
        timings = {
            **job.timings,
            "processing_s": round(seconds, 3),
            "audio_s_per_s": round(duration / seconds, 2) if seconds > 0 else None,
        }
        result = {"duration": duration, "processed_seconds": duration, "outputs": written}
        if not await self._end(job, "done", timings=timings, **result):
            for key in written.values():
                await self.outputs.delete(key)
            raise JobLost(job.id)
        log.info("ballsy.jobs.done", job_id=job.id, audio_s=round(duration, 1), **timings)
        await self._after_terminal(job, sink, "done")
        return "done"

    # --- failure paths -----------------------------------------------------------------

    async def _fail(self, job: TranscriptionJob, code: str, message: str) -> JobStatus:
        metrics.JOB_FAILURES.labels(code, "true").inc()
        log.warning("ballsy.jobs.failed", job_id=job.id, code=code, error=message)
        if not await self._end(job, "failed", error_code=code, error=message):
            return job.status  # type: ignore[return-value]
        await self._after_terminal(job, ProgressSink(self.bus, None), "failed")
        return "failed"

    async def _retry(self, job: TranscriptionJob, exc: Exception) -> JobStatus | None:
        code = exc.code if isinstance(exc, BallsyError) else "internal_error"
        # The user sees only our own messages: an exception's text may hold file paths,
        # SQL or someone's transcript. The log keeps its type for the operator.
        message = exc.message if isinstance(exc, BallsyError) else INTERNAL_ERROR_MESSAGE
        if not isinstance(exc, BallsyError):
            log.warning("ballsy.jobs.internal_error", job_id=job.id, error=type(exc).__name__)
        if isinstance(exc, ModelUnavailable) or job.attempts >= self.settings.job_max_attempts:
            return await self._fail(job, code, self._gave_up(job.attempts, message))
        metrics.JOB_FAILURES.labels(code, "false").inc()
        delay = min(
            self.settings.job_retry_max_seconds,
            self.settings.job_retry_base_seconds * 2 ** (job.attempts - 1),
        )
        when = utcnow() + timedelta(seconds=delay)
        log.warning("ballsy.jobs.retrying", job_id=job.id, error=message, in_seconds=delay)
        failure = {"error_code": code, "error": message}
        requeued = await self._unlease(job.id, status="queued", not_before=when, **failure)
        if requeued and self.requeue is not None:
            with contextlib.suppress(Exception):  # the reconciler re-dispatches it anyway
                await self.requeue(job.id, job.attempts, when)
        return "queued"

    @staticmethod
    def _gave_up(attempts: int, reason: str) -> str:
        return f"gave up after {attempts} attempt(s): {reason}"

    async def _release(self, job_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._unlease(job_id, status="queued", attempts=TranscriptionJob.attempts - 1)

    # --- bookkeeping -------------------------------------------------------------------

    async def _update(self, job: TranscriptionJob, **values: Any) -> bool:
        """Change the job while we own it; False when it is no longer ours."""
        async with self.database.transaction() as session:
            return await JobRepository(session).update_owned(job.id, self.owner, utcnow(), **values)

    async def _unlease(self, job_id: str, **values: Any) -> bool:
        """Change the job and give up our lease on it, in one update."""
        async with self.database.transaction() as session:
            repo = JobRepository(session)
            return await repo.update_owned(job_id, self.owner, utcnow(), **values, **_UNLEASED)

    async def _end(self, job: TranscriptionJob, status: JobStatus, **values: Any) -> bool:
        """Finish the job as ``status`` (done or failed), in the database and on ``job``.

        Its webhook, if it has one, goes into the outbox in the same transaction: a
        job is never ended without its webhook on record, whatever stops us next.
        """
        values = {"status": status, "finished_at": utcnow(), **values}
        webhook = bool(job.webhook_url) and self.settings.job_webhook_secret is not None
        if webhook:
            values["webhook_status"] = "pending"
        async with self.database.transaction() as session:
            repo = JobRepository(session)
            if not await repo.update_owned(job.id, self.owner, utcnow(), **values, **_UNLEASED):
                return False
            if webhook:
                ended = await repo.get(job.id, ALL_USERS)
                assert ended is not None and job.webhook_url is not None
                event = f"transcription.{status}"
                payload = {"event": event, "job": JobView.of(ended).summary()}
                delivery = WebhookDelivery(job_id=job.id, url=job.webhook_url, event=event)
                delivery.payload, delivery.status, delivery.attempts = payload, "pending", 0
                delivery.next_attempt_at = delivery.created_at = delivery.updated_at = utcnow()
                await repo.add_webhook(delivery)
        for field, value in values.items():
            setattr(job, field, value)
        if webhook and self.webhook_ready is not None:
            self.webhook_ready()
        return True

    async def _keep_lease(
        self, job_id: str, lost: asyncio.Event, heartbeat: Heartbeat | None
    ) -> None:
        interval = self.settings.job_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.database.transaction() as session:
                    renewed = await JobRepository(session).renew(
                        job_id, self.owner, utcnow(), self.settings.job_lease_seconds
                    )
            except Exception as exc:  # a database blip: the next beat may get through
                log.warning(
                    "ballsy.jobs.lease_renewal_failed", job_id=job_id, error=type(exc).__name__
                )
                continue
            if not renewed:
                lost.set()
                return
            if heartbeat is not None:
                with contextlib.suppress(Exception):
                    await heartbeat()

    async def _after_terminal(
        self, job: TranscriptionJob, sink: ProgressSink, outcome: str
    ) -> None:
        view = JobView.of(job)
        sink.publish(view.event())
        started = job.started_at or job.created_at
        if started.tzinfo is None:
            started = started.replace(tzinfo=utcnow().tzinfo)
        metrics.JOB_DURATION.labels("transcription", outcome).observe(
            (utcnow() - started).total_seconds()
        )
        if job.owns_media and not self.settings.job_keep_media:
            with contextlib.suppress(Exception):  # retention deletes it later otherwise
                await self.media.delete(job.media_key)


_UNLEASED: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
