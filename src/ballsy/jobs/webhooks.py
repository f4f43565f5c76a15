"""Completion webhooks: an HMAC-signed POST, retried with backoff.

The receiver checks ``X-Ballsy-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<X-Ballsy-Timestamp>.<raw body>"`` under ``JOB_WEBHOOK_SECRET`` (see
:func:`signature`), and should refuse old timestamps to stop replays. Network
errors, 429 and 5xx are retried (1 s, 2 s, 4 s…); other 4xx mean the receiver said
no, and are not.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

from ballsy.errors import InvalidInput
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.security.secrets import redact_url

log = get_logger("ballsy.jobs.webhooks")
_RETRY_BASE_SECONDS = 1.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Refuse what is not http(s), and internal addresses unless allowed (SSRF)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("webhook_url must be an http(s) URL", detail={"field": "webhook_url"})
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise InvalidInput(
            f"webhook host {parts.hostname!r} does not resolve", detail={"field": "webhook_url"}
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidInput(
                "webhook_url points to a private or loopback address",
                detail={"field": "webhook_url"},
            )


async def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    attempts: int,
    request_timeout: float,
    allow_private: bool,
    base_delay: float = _RETRY_BASE_SECONDS,
) -> bool:
    """POST ``payload`` until the receiver accepts it; True when it did."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=request_timeout, follow_redirects=False) as client:
        for attempt in range(1, attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                "user-agent": "ballsy-webhooks",
                "x-ballsy-event": str(payload.get("event", "")),
                "x-ballsy-delivery": delivery,
                "x-ballsy-timestamp": timestamp,
                "x-ballsy-signature": signature(secret, timestamp, body),
            }
            retry = True
            try:
                # Checked at each send, not only at submit: DNS may have changed since.
                await asyncio.to_thread(check_webhook_url, url, allow_private=allow_private)
                response = await client.post(url, content=body, headers=headers)
                if response.is_success:
                    metrics.JOB_WEBHOOKS.labels("delivered").inc()
                    return True
                retry = response.status_code == 429 or response.status_code >= 500
                reason = f"HTTP {response.status_code}"
            except InvalidInput as exc:
                retry, reason = False, exc.message
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            log.warning(
                "ballsy.jobs.webhook_failed",
                url=redact_url(url, keep_path=False),  # their path and query carry tokens
                attempt=attempt,
                reason=reason,
                retry=retry,
            )
            if not retry or attempt == attempts:
                break
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    metrics.JOB_WEBHOOKS.labels("failed").inc()
    return False
