"""The SQL of transcription jobs: leases, chunk commits, scoped reads.

Every state change a worker makes is conditional on it still holding the job's lease
(``lease_owner`` and ``status = 'running'``), so a worker that lost its job — cancelled
by the user, or taken over after it was presumed dead — learns it from the row count
and stops, and can never write over the new owner's progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.scope import Scope
from ballsy.store.models import TranscriptionChunk, TranscriptionJob, WebhookDelivery
from ballsy.store.scoping import visible_to

ACTIVE_STATUSES = ("queued", "running")
TERMINAL_STATUSES = ("done", "failed", "cancelled")


def _changed(result: Any) -> bool:
    return isinstance(result, CursorResult) and result.rowcount == 1


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- reads -------------------------------------------------------------------------

    async def add(self, job: TranscriptionJob) -> TranscriptionJob:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: str, scope: Scope) -> TranscriptionJob | None:
        """The job, if ``scope`` sees it (workers and admins pass ``ALL_USERS``)."""
        query = select(TranscriptionJob).where(
            TranscriptionJob.id == job_id, visible_to(TranscriptionJob.user_id, scope)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def page(
        self,
        scope: Scope,
        *,
        limit: int,
        offset: int = 0,
        status: str | None = None,
    ) -> list[TranscriptionJob]:
        """Newest first, the jobs ``scope`` sees."""
        query = select(TranscriptionJob).where(visible_to(TranscriptionJob.user_id, scope))
        if status is not None:
            query = query.where(TranscriptionJob.status == status)
        query = query.order_by(TranscriptionJob.created_at.desc(), TranscriptionJob.id.desc())
        result = await self.session.execute(query.limit(limit).offset(offset))
        return list(result.scalars().all())

    async def count_by_status(self) -> dict[str, int]:
        result = await self.session.execute(
            select(TranscriptionJob.status, func.count()).group_by(TranscriptionJob.status)
        )
        return {status: count for status, count in result.tuples().all()}

    async def chunks(self, job_id: str) -> list[TranscriptionChunk]:
        result = await self.session.execute(
            select(TranscriptionChunk)
            .where(TranscriptionChunk.job_id == job_id)
            .order_by(TranscriptionChunk.index)
        )
        return list(result.scalars().all())

    async def last_chunk(self, job_id: str) -> TranscriptionChunk | None:
        result = await self.session.execute(
            select(TranscriptionChunk)
            .where(TranscriptionChunk.job_id == job_id)
            .order_by(TranscriptionChunk.index.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    # --- scheduling --------------------------------------------------------------------

    @staticmethod
    def _claimable(now: datetime) -> Any:
        due = and_(
            TranscriptionJob.status == "queued",
            or_(TranscriptionJob.not_before.is_(None), TranscriptionJob.not_before <= now),
        )
        orphaned = and_(
            TranscriptionJob.status == "running", TranscriptionJob.lease_expires_at < now
        )
        return or_(due, orphaned)

    async def claimable_ids(self, now: datetime, *, limit: int) -> list[str]:
        """Due queued jobs and running jobs whose worker stopped renewing, oldest first."""
        result = await self.session.execute(
            select(TranscriptionJob.id)
            .where(self._claimable(now))
            .order_by(TranscriptionJob.created_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def orphaned(self, now: datetime, *, limit: int) -> list[TranscriptionJob]:
        result = await self.session.execute(
            select(TranscriptionJob)
            .where(TranscriptionJob.status == "running", TranscriptionJob.lease_expires_at < now)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def claim(self, job_id: str, owner: str, now: datetime, lease: float) -> bool:
        """Take the job if it is due or orphaned; one UPDATE, so only one worker wins."""
        result = await self.session.execute(
            update(TranscriptionJob)
            .where(TranscriptionJob.id == job_id, self._claimable(now))
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease),
                attempts=TranscriptionJob.attempts + 1,
                started_at=func.coalesce(TranscriptionJob.started_at, now),
                not_before=None,
                updated_at=now,
            )
        )
        return _changed(result)

    def _owned(self, job_id: str, owner: str) -> Any:
        return and_(
            TranscriptionJob.id == job_id,
            TranscriptionJob.lease_owner == owner,
            TranscriptionJob.status == "running",
        )

    async def renew(self, job_id: str, owner: str, now: datetime, lease: float) -> bool:
        result = await self.session.execute(
            update(TranscriptionJob)
            .where(self._owned(job_id, owner))
            .values(lease_expires_at=now + timedelta(seconds=lease))
        )
        return _changed(result)

    async def update_owned(self, job_id: str, owner: str, now: datetime, **values: Any) -> bool:
        """Change a running job this worker owns; False when it is no longer ours."""
        result = await self.session.execute(
            update(TranscriptionJob)
            .where(self._owned(job_id, owner))
            .values(updated_at=now, **values)
        )
        return _changed(result)

    async def show_progress(
        self, job_id: str, owner: str, now: datetime, processed_seconds: float, segments_done: int
    ) -> bool:
        """Live progress inside the chunk being decoded: a display, not a resume point.

        Only while the lease is ours; the lease itself is not renewed here.
        """
        return await self.update_owned(
            job_id, owner, now, processed_seconds=processed_seconds, segments_done=segments_done
        )

    async def committed_segments(self, job_id: str) -> int:
        """How many segments the job's committed chunks hold (a resumed job's count)."""
        result = await self.session.execute(
            select(TranscriptionChunk.segments).where(TranscriptionChunk.job_id == job_id)
        )
        return sum(len(data.get("segments", [])) for data in result.scalars())

    async def add_chunk(
        self, chunk: TranscriptionChunk, owner: str, now: datetime, lease: float, **progress: Any
    ) -> bool:
        """Record a finished chunk with the job's progress, both or neither.

        The caller's transaction is rolled back on False (the job is not ours anymore).
        """
        owned = await self.update_owned(
            chunk.job_id,
            owner,
            now,
            chunks_done=chunk.index + 1,
            lease_expires_at=now + timedelta(seconds=lease),
            **progress,
        )
        if owned:
            self.session.add(chunk)
            await self.session.flush()
        return owned

    async def cancel(self, job_id: str, scope: Scope, now: datetime) -> bool:
        """Cancel a queued or running job; False when it is finished (or not in scope)."""
        query = update(TranscriptionJob).where(
            TranscriptionJob.id == job_id,
            TranscriptionJob.status.in_(ACTIVE_STATUSES),
            visible_to(TranscriptionJob.user_id, scope),
        )
        result = await self.session.execute(
            query.values(
                status="cancelled",
                lease_owner=None,
                lease_expires_at=None,
                finished_at=now,
                updated_at=now,
            )
        )
        return _changed(result)

    async def set_fields(self, job_id: str, now: datetime, **values: Any) -> None:
        await self.session.execute(
            update(TranscriptionJob)
            .where(TranscriptionJob.id == job_id)
            .values(updated_at=now, **values)
        )

    # --- retention ---------------------------------------------------------------------

    async def finished_before(self, when: datetime, *, limit: int) -> list[TranscriptionJob]:
        result = await self.session.execute(
            select(TranscriptionJob)
            .where(
                TranscriptionJob.status.in_(TERMINAL_STATUSES),
                TranscriptionJob.finished_at < when,
            )
            .order_by(TranscriptionJob.finished_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def delete(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            # Chunks first: SQLite enforces the cascade only with foreign keys on.
            await self.session.execute(
                delete(TranscriptionChunk).where(TranscriptionChunk.job_id.in_(job_ids))
            )
            await self.session.execute(
                delete(WebhookDelivery).where(WebhookDelivery.job_id.in_(job_ids))
            )
            await self.session.execute(
                delete(TranscriptionJob).where(TranscriptionJob.id.in_(job_ids))
            )

    # --- the webhook outbox ------------------------------------------------------------

    async def add_webhook(self, delivery: WebhookDelivery) -> None:
        """Record a webhook to send; the caller's transaction ends the job with it."""
        self.session.add(delivery)
        await self.session.flush()

    @staticmethod
    def _webhook_due(now: datetime) -> Any:
        return and_(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now),
        )

    async def due_webhook_ids(self, now: datetime, *, limit: int) -> list[str]:
        """Pending deliveries whose time came and that no live loop holds, oldest first."""
        result = await self.session.execute(
            select(WebhookDelivery.id)
            .where(self._webhook_due(now))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        return list(result.scalars().all())

    async def claim_webhook(
        self, delivery_id: str, owner: str, now: datetime, lease: float
    ) -> WebhookDelivery | None:
        """Take the delivery for one attempt; one UPDATE, so only one loop wins it."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, self._webhook_due(now))
            .values(
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease),
                attempts=WebhookDelivery.attempts + 1,
                updated_at=now,
            )
        )
        if not _changed(result):
            return None
        found = await self.session.execute(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        )
        return found.scalar_one()

    async def settle_webhook(
        self, delivery: WebhookDelivery, owner: str, now: datetime, **values: Any
    ) -> bool:
        """Record an attempt's outcome and give up the lease; the job's
        ``webhook_status`` follows a final one (delivered or failed)."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id, WebhookDelivery.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None, updated_at=now, **values)
        )
        status = values.get("status")
        if _changed(result) and status in ("delivered", "failed"):
            await self.set_fields(delivery.job_id, now, webhook_status=status)
        return _changed(result)
