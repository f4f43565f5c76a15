"""Completion webhooks: an HMAC-signed POST to an address checked once.

The receiver checks ``X-Ballsy-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<X-Ballsy-Timestamp>.<raw body>"`` under ``JOB_WEBHOOK_SECRET`` (see
:func:`signature`), and should refuse old timestamps to stop replays, and drop a
repeated ``X-Ballsy-Delivery`` (delivery is at least once). Network errors, 429 and
5xx are retried; other 4xx mean the receiver said no, and are not.

Each send resolves the host once, off the event loop and within a time limit
(:func:`resolve_webhook`), refuses it if any address it resolves to is internal,
and connects to that very address — the URL's host replaced by the IP, the name kept
in ``Host`` and in TLS (SNI and certificate check) — so a name that resolves to a
public address for the check and to an internal one a moment later (DNS rebinding)
cannot aim the POST inside. Durable delivery and its retries over time live in
:mod:`ballsy.jobs.outbox`.
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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ballsy.errors import InvalidInput
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.security.secrets import redact_url

log = get_logger("ballsy.jobs.webhooks")
_RETRY_BASE_SECONDS = 1.0
_FIELD = {"field": "webhook_url"}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class WebhookTarget:
    """Where one send goes: ``url`` names the checked address, not the host name."""

    url: str
    host: str  # the Host header: the name (and port) the user gave
    address: IPAddress
    extensions: dict[str, Any] = field(default_factory=dict)


def _parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("webhook_url has an invalid port", detail=_FIELD) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("webhook_url must be an http(s) URL", detail=_FIELD)
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def _addresses(hostname: str, port: int, seconds: float) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(hostname)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        # loop.getaddrinfo runs the lookup on a thread: the loop keeps serving meanwhile.
        infos = await asyncio.wait_for(
            loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
            seconds,
        )
    except TimeoutError:
        raise InvalidInput(
            f"webhook host {hostname!r} did not resolve within {seconds:g} s", detail=_FIELD
        ) from None
    except OSError as exc:
        raise InvalidInput(f"webhook host {hostname!r} does not resolve", detail=_FIELD) from exc
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise InvalidInput(f"webhook host {hostname!r} does not resolve", detail=_FIELD)
    return found


async def resolve_webhook(url: str, *, allow_private: bool, lookup_seconds: float) -> WebhookTarget:
    """Resolve ``url``'s host once and check every address it gives (SSRF).

    Raises :class:`InvalidInput` for a non-http(s) URL, a name that does not resolve
    within ``lookup_seconds``, or — unless ``allow_private`` — any address that is
    not global (loopback, private, link-local, metadata, …).
    """
    scheme, hostname, port = _parts(url)
    addresses = await _addresses(hostname, port, lookup_seconds)
    if not allow_private and any(not address.is_global for address in addresses):
        raise InvalidInput("webhook_url points to a private or loopback address", detail=_FIELD)
    address = addresses[0]
    parsed = httpx.URL(url)
    host = f"[{hostname}]" if ":" in hostname else hostname
    extensions = {"sni_hostname": hostname} if scheme == "https" else {}
    return WebhookTarget(
        url=str(parsed.copy_with(host=str(address))),
        host=host if parsed.port is None else f"{host}:{parsed.port}",
        address=address,
        extensions=extensions,
    )


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    retry: bool  # worth another try later
    reason: str = ""


async def send_once(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    event: str,
    delivery: str,
    secret: str,
    allow_private: bool,
    resolve_timeout: float,
) -> SendResult:
    """One signed POST of ``body`` to ``url``; logs a failure (the URL redacted)."""
    timestamp = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "user-agent": "ballsy-webhooks",
        "x-ballsy-event": event,
        "x-ballsy-delivery": delivery,
        "x-ballsy-timestamp": timestamp,
        "x-ballsy-signature": signature(secret, timestamp, body),
    }
    try:
        # Resolved at each send, not only at submit: the name may point elsewhere now.
        target = await resolve_webhook(
            url, allow_private=allow_private, lookup_seconds=resolve_timeout
        )
        response = await client.post(
            target.url,
            content=body,
            headers={**headers, "host": target.host},
            extensions=target.extensions,
        )
        if response.is_success:
            return SendResult(True, False)
        result = SendResult(
            False,
            response.status_code == 429 or response.status_code >= 500,
            f"HTTP {response.status_code}",
        )
    except InvalidInput as exc:
        result = SendResult(False, False, exc.message)
    except httpx.HTTPError as exc:
        result = SendResult(False, True, type(exc).__name__)
    log.warning(
        "ballsy.jobs.webhook_failed",
        url=redact_url(url, keep_path=False),  # its path and query carry tokens
        delivery=delivery,
        reason=result.reason,
        retry=result.retry,
    )
    return result


def webhook_client(request_timeout: float) -> httpx.AsyncClient:
    # No proxy from the environment: the POST must go to the address that was checked.
    return httpx.AsyncClient(timeout=request_timeout, follow_redirects=False, trust_env=False)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    attempts: int,
    request_timeout: float,
    allow_private: bool,
    resolve_timeout: float = 5.0,
    base_delay: float = _RETRY_BASE_SECONDS,
) -> bool:
    """POST ``payload`` until the receiver accepts it, here and now; True when it did.

    Jobs deliver through the outbox instead, which survives a restart.
    """
    body, delivery = encode(payload), str(uuid.uuid4())
    async with webhook_client(request_timeout) as client:
        for attempt in range(1, attempts + 1):
            result = await send_once(
                client, url, body, event=str(payload.get("event", "")), delivery=delivery,
                secret=secret, allow_private=allow_private, resolve_timeout=resolve_timeout,
            )  # fmt: skip
            if result.delivered:
                metrics.JOB_WEBHOOKS.labels("delivered").inc()
                return True
            if not result.retry or attempt == attempts:
                break
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    metrics.JOB_WEBHOOKS.labels("failed").inc()
    return False
