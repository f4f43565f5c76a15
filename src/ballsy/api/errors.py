"""Every error a client can see, mapped to HTTP in one place.

``/api`` routes answer ``{"error": {"code", "message", "detail"}}``; ``/v1`` routes
answer in the OpenAI error shape so the official SDKs raise their usual exceptions.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ballsy.errors import BallsyError, DatabaseUnavailable
from ballsy.observability.logging import get_logger
from ballsy.store.db import CONNECTION_ERRORS, is_unavailable

log = get_logger("ballsy.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if request.url.path.startswith("/v1/"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        param = detail.get("field") if isinstance(detail, dict) else None
        body: dict[str, Any] = {
            "error": {"message": message, "type": kind, "param": param, "code": code}
        }
    else:
        body = {"error": {"code": code, "message": message, "detail": detail or {}}}
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BallsyError)
    async def _ballsy(request: Request, exc: BallsyError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("ballsy.api.service_error", code=exc.code, status=exc.status_code)
        return error_response(
            request, exc.status_code, exc.code, exc.message, exc.detail, exc.headers() or None
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {k: v for k, v in error.items() if k in {"loc", "msg", "type"}}
            for error in exc.errors()
        ]
        first = errors[0] if errors else {}
        detail = {"errors": errors, "field": str(first.get("loc", ["", ""])[-1]) or None}
        return error_response(request, 422, "invalid_input", _validation_message(errors), detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(
            request, exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        # Handled here (not by the catch-all below, which Starlette re-raises to the
        # server as a crash): a database outage is an answer, 503, retry shortly.
        if not is_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("ballsy.api.database_unavailable", error=type(exc).__name__)
        down = DatabaseUnavailable("the database is unavailable; retry shortly")
        return error_response(request, 503, down.code, down.message, headers=down.headers())

    for kind in CONNECTION_ERRORS:
        app.add_exception_handler(kind, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):  # wrapped in something else on the way up
            return await _database_down(request, exc)
        log.exception("ballsy.api.unhandled_error")
        return error_response(request, 500, "internal_error", "internal server error")
