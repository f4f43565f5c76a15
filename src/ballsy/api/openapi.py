"""The API's schema: parameter bounds every route shares, and the error answers.

Bounds: every integer a client sends is at most :data:`MAX_ID` (a signed 64-bit
integer, what the database stores), so a 30-digit ``?before=`` is a 422 and never
reaches SQL; every string has a length cap. Path parameters use the aliases below.

Errors: :func:`install_openapi` adds to each operation the error statuses it can
really answer, with the error body's schema (``{"error": {...}}`` on ``/api``, OpenAI's
shape on ``/v1``), by rule from what the middleware and the guard do; a router adds
the statuses only its services raise with ``responses=errors(404, 409)``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from ballsy.security.guard import PUBLIC_PATHS

MAX_ID = 2**63 - 1
"""The largest integer id or count a client may send (PostgreSQL ``bigint``)."""
MAX_OFFSET = 1_000_000
"""The deepest ``?offset=`` a list accepts (deeper pages: filter instead)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A numeric id.")]
ObjectId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="An id.")
]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found.")
    message: str = Field(description="What went wrong, for people.")
    detail: dict[str, Any] = Field(description="Structured context (field, limit, …).")


class ErrorBody(BaseModel):
    """Every ``/api`` error answer."""

    error: ErrorDetail


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorBody(BaseModel):
    """Every ``/v1`` error answer (OpenAI's shape, so the SDKs raise as usual)."""

    error: OpenAIErrorDetail


DESCRIPTIONS = {
    400: "Bad request: media that cannot be decoded, an unknown model.",
    401: "Authentication required, or the credential is not valid.",
    403: "The caller lacks the role this route needs.",
    404: "No such object, or not the caller's.",
    408: "The client stopped sending the request body (UPLOAD_READ_TIMEOUT).",
    409: "Conflicts with the current state (exists already, not finished yet).",
    413: "The body or the audio is larger than allowed.",
    415: "The body is not of a media type this route reads.",
    422: "A parameter or the body failed validation.",
    429: "Rate limit or spend cap reached; see Retry-After.",
    502: "The LLM provider failed.",
    503: "A dependency is unavailable (database, storage, model) or the server is busy; "
    "see Retry-After.",
    504: "The request or the provider took too long.",
    507: "Storage is full.",
}
_METHODS = {"get", "put", "post", "delete", "patch"}
_BODY_METHODS = {"put", "post", "patch"}


STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or Server-Sent Events with stream=true.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/event-stream": {"schema": {}},  # each event: a JSON chunk
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}
"""``responses=`` of a route that answers JSON or, when asked, a stream or plain text."""


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or route: statuses its services raise."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


def _ref(path: str) -> dict[str, Any]:
    name = "OpenAIErrorBody" if path.startswith("/v1/") else "ErrorBody"
    return {"$ref": f"#/components/schemas/{name}"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The errors the layers around every route answer (middleware, guard, pool)."""
    found = {int(code) for code in operation.get("responses", {}) if str(code).isdigit()}
    found = {code for code in found if code >= 400}
    if path == "/health":
        return found
    found |= {503, 504}  # the database (or a model) away; REQUEST_TIMEOUT
    if path not in PUBLIC_PATHS:
        found |= {401, 429}  # the guard: no or bad credential, the per-user budget
    if operation.get("parameters") or "requestBody" in operation:
        found.add(422)
    if method in _BODY_METHODS or "requestBody" in operation:
        found |= {408, 413, 422}  # a stalled body; BodyLimitMiddleware
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        found.add(400)  # a body that is not JSON at all
    if "{" in path:
        found.add(404)
    return found


def _add_errors(schema: dict[str, Any]) -> None:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", DESCRIPTIONS.get(status, "Error."))
                if status == 422 or "content" not in entry:  # 422: FastAPI's own shape
                    entry["content"] = {"application/json": {"schema": _ref(path)}}
                if status in (429, 503):
                    entry["headers"] = {
                        "Retry-After": {
                            "description": "Seconds to wait before retrying.",
                            "schema": {"type": "integer", "minimum": 0},
                        }
                    }
                responses.pop(status, None)  # an int key beside the str one
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for model in (ErrorDetail, ErrorBody, OpenAIErrorDetail, OpenAIErrorBody):
        components[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components[model.__name__].pop("$defs", None)


def install_openapi(app: FastAPI) -> None:
    """Serve the schema with every route's error answers documented (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
