"""Webhook signatures and the address check that keeps webhooks off internal hosts."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from ballsy.errors import InvalidInput
from ballsy.jobs.webhooks import deliver, resolve_webhook, signature
from tests.fake_openai import free_port


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"event":"transcription.done"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k", "1700000000", body) == "sha256=" + expected


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://localhost:8080/x", "https://10.1.2.3/x",
     "http://169.254.169.254/latest/meta-data", "http://[::1]/x"],
)  # fmt: skip
async def test_internal_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(InvalidInput):
        await resolve_webhook(url, allow_private=False, lookup_seconds=5.0)
    await resolve_webhook(url, allow_private=True, lookup_seconds=5.0)


async def test_only_http_urls() -> None:
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "http://h:x/"):
        with pytest.raises(InvalidInput):
            await resolve_webhook(url, allow_private=True, lookup_seconds=5.0)


async def test_an_unreachable_receiver_is_retried_then_given_up() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens
    delivered = await deliver(
        url, {"event": "transcription.done"}, secret="k", attempts=3, request_timeout=1.0,
        allow_private=True, base_delay=0.01,
    )  # fmt: skip
    assert delivered is False
    refused = await deliver(
        url, {"event": "x"}, secret="k", attempts=3, request_timeout=1.0, allow_private=False
    )
    assert refused is False  # refused before any connection, without retrying


async def test_webhook_urls_are_logged_redacted(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://hook:pa:ss@127.0.0.1:{free_port()}/hook?token=tok-s3cret&id=7"
    with caplog.at_level(logging.WARNING):
        delivered = await deliver(
            url, {"event": "x"}, secret="k", attempts=1, request_timeout=1.0, allow_private=True
        )
    assert delivered is False
    logged = caplog.text + " ".join(str(r.msg) for r in caplog.records)
    assert "ballsy.jobs.webhook_failed" in logged
    assert "tok-s3cret" not in logged and "pa:ss" not in logged and "/hook" not in logged
    assert f"http://127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/..." in logged
