"""The webhook outbox: deliver what ended jobs left to send, surviving restarts.

A job's end writes a :class:`~ballsy.store.models.WebhookDelivery` row in the same
transaction (:meth:`JobRunner._end`); a :class:`WebhookOutbox` loop in every worker
(the ``ballsy worker`` process and the web process's embedded one) sends due rows:

- **claimed with a lease**: a conditional UPDATE takes a row for one attempt, so two
  loops, on one database, never send it at once; a loop that dies mid-send leaves the
  lease to run out and another (or the restarted one) sends it again.
- **retried with backoff**: network errors, 429 and 5xx wait 1 s, 2 s, 4 s… (at most
  an hour) up to ``JOB_WEBHOOK_ATTEMPTS`` tries; other 4xx, and refused addresses,
  end it as ``failed``. The job's ``webhook_status`` follows: pending → delivered |
  failed.
- **at least once**: a restart between the receiver's answer and our record of it
  sends again, with the same ``X-Ballsy-Delivery`` id.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import httpx

from ballsy.jobs.context import JobContext
from ballsy.jobs.webhooks import SendResult, encode, send_once, webhook_client
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import WebhookDelivery, utcnow

log = get_logger("ballsy.jobs.outbox")
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 3600.0
_BATCH = 32
_CONCURRENT_SENDS = 8
_LEASE_MARGIN_SECONDS = 30.0


class WebhookOutbox:
    """Sends the due webhooks of one database, as ``owner`` (a worker's identity)."""

    def __init__(self, context: JobContext, *, owner: str) -> None:
        self.settings = context.settings
        self.database = context.database
        self.owner = owner
        self._wake = asyncio.Event()
        self._sends = asyncio.Semaphore(_CONCURRENT_SENDS)

    @property
    def _send_budget(self) -> float:
        """Seconds one attempt may take: the lookup and the request, whole."""
        return self.settings.job_webhook_resolve_timeout + self.settings.job_webhook_timeout

    def wake(self) -> None:
        """A job just ended with a webhook: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception as exc:  # a database blip: the next round may get through
                log.warning("ballsy.jobs.outbox_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.job_poll_seconds)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """One attempt at every due delivery; how many were delivered."""
        async with self.database.transaction() as session:
            ids = await JobRepository(session).due_webhook_ids(utcnow(), limit=_BATCH)
        if not ids:
            return 0
        async with webhook_client(self.settings.job_webhook_timeout) as client:
            sent = await asyncio.gather(*(self._attempt(client, i) for i in ids))
        return sum(sent)

    async def _attempt(self, client: httpx.AsyncClient, delivery_id: str) -> bool:
        async with self._sends:
            lease = self._send_budget + _LEASE_MARGIN_SECONDS
            async with self.database.transaction() as session:
                delivery = await JobRepository(session).claim_webhook(
                    delivery_id, self.owner, utcnow(), lease
                )
            if delivery is None:  # another loop has it, or it is done
                return False
            try:
                result = await self._send(client, delivery)
            except asyncio.CancelledError:
                # Shutdown: hand it back at once instead of after the lease.
                await asyncio.shield(self._release(delivery))
                raise
            await self._settle(delivery, result)
            return result.delivered

    async def _send(self, client: httpx.AsyncClient, delivery: WebhookDelivery) -> SendResult:
        secret = self.settings.job_webhook_secret
        if secret is None:
            return SendResult(False, False, "JOB_WEBHOOK_SECRET is no longer set")
        try:
            async with asyncio.timeout(self._send_budget):  # httpx times each read alone
                return await send_once(
                    client,
                    delivery.url,
                    encode(delivery.payload),
                    event=delivery.event,
                    delivery=delivery.id,
                    secret=secret.get_secret_value(),
                    allow_private=self.settings.webhooks_may_reach_private,
                    resolve_timeout=self.settings.job_webhook_resolve_timeout,
                )
        except TimeoutError:
            return SendResult(False, True, "timeout")

    async def _settle(self, delivery: WebhookDelivery, result: SendResult) -> None:
        now = utcnow()
        values: dict[str, object]
        if result.delivered:
            values = {"status": "delivered", "last_error": None}
        elif result.retry and delivery.attempts < self.settings.job_webhook_attempts:
            delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1))
            values = {"next_attempt_at": now + timedelta(seconds=delay)}
        else:
            values = {"status": "failed"}
        values.setdefault("last_error", result.reason[:200] or None)
        async with self.database.transaction() as session:
            await JobRepository(session).settle_webhook(delivery, self.owner, now, **values)
        if values.get("status") in ("delivered", "failed"):
            metrics.JOB_WEBHOOKS.labels(str(values["status"])).inc()
            log.info(
                "ballsy.jobs.webhook_settled",
                job_id=delivery.job_id,
                delivery=delivery.id,
                status=values["status"],
                attempts=delivery.attempts,
            )

    async def _release(self, delivery: WebhookDelivery) -> None:
        with contextlib.suppress(Exception):
            async with self.database.transaction() as session:
                await JobRepository(session).settle_webhook(
                    delivery, self.owner, utcnow(), attempts=WebhookDelivery.attempts - 1
                )
