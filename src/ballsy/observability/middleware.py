"""Per-request context: request id, trace ids, the request log line, HTTP metrics.

A pure ASGI middleware (no per-request Request object, no response re-wrapping), the
outermost one the app installs, so that even requests refused by the host or CORS
checks are counted. For every HTTP request and WebSocket handshake it

- takes the caller's ``X-Request-ID`` if it is a sane token, else generates one, binds
  it to the log context and returns it as a response header;
- binds the trace from ``traceparent`` or ``X-Cloud-Trace-Context`` (or from the
  request span when tracing is on) so every line links to its trace;
- after an HTTP response, records ``ballsy_http_*`` metrics under the route
  *template* and logs ``ballsy.http.request_completed`` with Cloud Logging's
  ``httpRequest`` object.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ballsy.observability import metrics, tracing
from ballsy.observability.logging import bind_context, clear_context, get_logger

log = get_logger("ballsy.http")

REQUEST_ID_HEADER = "x-request-id"
# Ids we echo back and write to every log line: a bounded token, no spaces, no control
# characters (header and log injection), else we make our own.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=([01]))?")
_ZERO_TRACE = "0" * 32
_WANTED = frozenset(
    {b"x-request-id", b"traceparent", b"tracestate", b"x-cloud-trace-context", b"user-agent"}
)
# Probes and scrapes arrive every few seconds from every instance; their lines are
# DEBUG so that INFO shows what users did.
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
# Cancelled before answering: the client went away, or the grace period ran out.
_CLIENT_CLOSED = 499


def valid_request_id(value: str | None) -> str | None:
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return None


def trace_context(traceparent: str | None, cloud_trace: str | None) -> dict[str, Any]:
    """Log trace fields from a W3C ``traceparent`` or Google's ``X-Cloud-Trace-Context``."""
    match = _TRACEPARENT.fullmatch(traceparent.strip()) if traceparent else None
    if match and match[1] != _ZERO_TRACE:
        return {
            "trace_id": match[1],
            "span_id": match[2],
            "trace_sampled": bool(int(match[3], 16) & 1),
        }
    match = _CLOUD_TRACE.fullmatch(cloud_trace.strip()) if cloud_trace else None
    if match:
        fields: dict[str, Any] = {"trace_id": match[1].lower()}
        if match[2]:
            # The header carries the span id in decimal; Cloud Logging wants 16 hex digits.
            fields["span_id"] = format(int(match[2]) & 0xFFFF_FFFF_FFFF_FFFF, "016x")
        if match[3]:
            fields["trace_sampled"] = match[3] == "1"
        return fields
    return {}


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/jobs/{id}``), or one shared label."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED_ROUTE


def _wanted_headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name in _WANTED:
            found[name.decode("latin-1")] = value.decode("latin-1")
    return found


class RequestObserver:
    def __init__(self, app: ASGIApp, *, log_requests: bool = True, record_metrics: bool = True):
        self.app = app
        self.log_requests = log_requests
        self.record_metrics = record_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _wanted_headers(scope)
        request_id = valid_request_id(headers.get(REQUEST_ID_HEADER)) or secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id
        fields = {
            "request_id": request_id,
            **trace_context(headers.get("traceparent"), headers.get("x-cloud-trace-context")),
        }
        # Not unbound on the way out: under a server each request runs in its own task
        # (its own context copy), and the server-error handler, which runs outside this
        # middleware, still logs with the request id.
        clear_context()
        if not tracing.enabled():
            bind_context(**fields)
            await self._observe(scope, receive, send, request_id, headers)
            return
        method = scope.get("method", "WEBSOCKET")
        with tracing.request_span(method, headers) as span:
            bind_context(**{**fields, **tracing.log_fields(span)})
            status, route = await self._observe(scope, receive, send, request_id, headers)
            span.set_attribute("http.route", route)
            if status:
                span.set_attribute("http.response.status_code", status)
            if hasattr(span, "update_name"):
                span.update_name(f"{method} {route}")

    async def _observe(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, headers: dict[str, str]
    ) -> tuple[int, str]:
        if scope["type"] != "http":
            # WebSocket connections are counted and closed by the connection registry.
            await self.app(scope, receive, send)
            return 0, route_template(scope)
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering
        started_response = False
        response_size = 0
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response, response_size
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            elif message["type"] == "http.response.body":
                response_size += len(message.get("body", b""))
            await send(message)

        if self.record_metrics:
            metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            if not started_response:
                status = _CLIENT_CLOSED
            raise
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            if self.record_metrics:
                metrics.HTTP_IN_FLIGHT.dec()
                metrics.observe_http(scope["method"], route, status, seconds)
            if self.log_requests:
                _log_request(scope, route, status, seconds, response_size, headers)
        return status, route


def _log_request(
    scope: Scope,
    route: str,
    status: int,
    seconds: float,
    response_size: int,
    headers: dict[str, str],
) -> None:
    if status >= 500:
        emit = log.error
    elif route in _QUIET_ROUTES:
        emit = log.debug
    else:
        emit = log.info
    client = scope.get("client")
    user_agent = headers.get("user-agent")
    emit(
        "ballsy.http.request_completed",
        route=route,
        duration_ms=round(seconds * 1000, 2),
        httpRequest={
            "requestMethod": scope["method"],
            # The path only: query strings may carry tokens.
            "requestUrl": scope.get("path", ""),
            "status": status,
            "responseSize": str(response_size),
            "userAgent": user_agent[:256] if user_agent else None,
            "remoteIp": client[0] if client else None,
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "latency": f"{seconds:.6f}s",
        },
    )
