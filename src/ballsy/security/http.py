"""HTTP hygiene as pure ASGI middleware: body caps, request timeouts, security headers.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed bodies and responses pass through
untouched and nothing is buffered:

- :class:`BodyLimitMiddleware` refuses a body over its route's cap from the
  ``Content-Length`` header before reading a byte, and counts the bytes actually
  streamed for chunked uploads (413 either way).
- :class:`RequestTimeoutMiddleware` answers 504 when no response has *started* within
  ``REQUEST_TIMEOUT`` of the server's own time (waiting on the client's body does not
  count; each body read has ``UPLOAD_READ_TIMEOUT``, 408 after); a response already
  streaming (speech, SSE) is left to finish.
- :class:`SecurityHeadersMiddleware` adds the usual headers, ``Cache-Control:
  no-store`` on the API (answers are personal) and the ``X-RateLimit-*`` headers of
  the request's rate-limit window.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ballsy.security.guard import RATE_LIMIT_STATE
from ballsy.state.base import RateWindow

# Routes that take audio files: capped at MAX_UPLOAD_BYTES (+ multipart framing).
UPLOAD_PREFIXES = (
    "/api/voice",
    "/api/transcriptions",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
)
_MULTIPART_OVERHEAD = 64 * 1024
JOB_UPLOAD_PREFIX = "/api/transcriptions"
# Pages that load their own scripts and styles (Swagger UI, ReDoc, the web client).
_PAGE_PATHS = ("/docs", "/redoc")
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def _error_body(path: str, code: str, message: str, detail: dict[str, Any]) -> bytes:
    # The same shapes api/errors.py answers, for the responses sent by middleware.
    if path.startswith("/v1/"):
        body: dict[str, Any] = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    else:
        body = {"error": {"code": code, "message": message, "detail": detail}}
    return json.dumps(body).encode()


async def send_error(
    send: Send,
    path: str,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    body = _error_body(path, code, message, detail or {})
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    headers_out = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers_out})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        upload_limit: int,
        job_upload_limit: int | None = None,
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit + _MULTIPART_OVERHEAD
        # Transcription jobs take long recordings: JOB_MAX_UPLOAD_BYTES, not the
        # synchronous endpoints' MAX_UPLOAD_BYTES.
        self.job_upload_limit = (
            None if job_upload_limit is None else job_upload_limit + _MULTIPART_OVERHEAD
        )

    def limit_for(self, path: str) -> int:
        if self.job_upload_limit is not None and path.startswith(JOB_UPLOAD_PREFIX):
            return self.job_upload_limit
        if path.startswith(UPLOAD_PREFIXES):
            return self.upload_limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limit_for(path)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_error(
                send, path, 413, "payload_too_large", f"the request body exceeds {limit} bytes"
            )
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body reading unchanged, so
                    # this reaches the one error handler as a 413.
                    raise HTTPException(413, f"the request body exceeds {limit} bytes")
            return message

        await self.app(scope, capped_receive, send)


class RequestTimeoutMiddleware:
    """``REQUEST_TIMEOUT`` for the server's own work; ``UPLOAD_READ_TIMEOUT`` per body read.

    The request's clock runs only while the server works, not while it waits for the
    client's body: each read of body bytes pauses it and must itself return within
    ``read_timeout`` (a stalled client → 408). A long upload that keeps sending is
    never cut, and a handler that is slow after (or without) its body still gets 504.
    """

    def __init__(self, app: ASGIApp, *, timeout: float, read_timeout: float | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.read_timeout = timeout if read_timeout is None else read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = False
        body_done = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)  # streaming may go on as long as it needs
            await send(message)

        async def watched_receive() -> Message:
            nonlocal body_done
            if body_done or started:
                # Past the body (a disconnect listener, say): nothing to time.
                return await receive()
            when = deadline.when()
            remaining = None if when is None else when - loop.time()
            deadline.reschedule(None)  # waiting on the client is not the server's time
            try:
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                # FastAPI re-raises HTTPException from body reading unchanged, so this
                # reaches the one error handler as a 408 (as BodyLimitMiddleware's 413).
                raise HTTPException(
                    408, f"no request body arrived for {self.read_timeout:g} s"
                ) from None
            finally:
                if remaining is not None and not started:
                    deadline.reschedule(loop.time() + max(remaining, 0.0))
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:
            async with asyncio.timeout(self.timeout) as deadline:
                await self.app(scope, watched_receive, watched_send)
        except TimeoutError:
            if started:
                raise
            await send_error(
                send,
                scope["path"],
                504,
                "request_timeout",
                f"the request took longer than {self.timeout:g} s",
            )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    def _headers(self, path: str, window: RateWindow | None) -> list[tuple[bytes, bytes]]:
        headers = {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), geolocation=(), microphone=(self)",
        }
        if not path.startswith(_PAGE_PATHS):
            headers["Content-Security-Policy"] = _API_CSP
        if path.startswith(("/api/", "/v1/")):
            headers["Cache-Control"] = "no-store"
        if self.hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if window is not None:
            headers.update(window.headers(time.time()))
        return [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The guard records the rate-limit window here; the dict is shared downstream.
        state = scope.setdefault("state", {})

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = self._headers(scope["path"], state.get(RATE_LIMIT_STATE))
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in extra if name not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None
