"""The operator's endpoints — ``/metrics``, ``/docs``, ``/redoc``, ``/openapi.json`` and
``/ready``'s error detail — and who may see them (docs/security.md, "Internal endpoints").

On the public port (``PORT``):

- ``INTERNAL_TOKEN`` set: they are served to ``Authorization: Bearer <INTERNAL_TOKEN>``
  only (401 ``unauthorized`` otherwise);
- else, with ``INTERNAL_PORT`` set or ``ENVIRONMENT=production``: not served (404);
- else (development): served to anyone, as FastAPI does by default.

With ``INTERNAL_PORT`` set, ``ballsy serve`` also serves :func:`create_internal_app` on
``INTERNAL_HOST:INTERNAL_PORT`` (127.0.0.1 unless told otherwise), in the same process
and event loop: the same metrics, documents and a ``/ready`` with every check's error,
to anyone who can reach that address, so a Prometheus scrape needs no token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse
from starlette.responses import Response

from ballsy.api import health
from ballsy.api.deps import get_readiness
from ballsy.api.health import has_internal_token
from ballsy.config import Settings
from ballsy.errors import NotFound, Unauthorized
from ballsy.observability import metrics

Access = Literal["open", "token", "off"]
Handler = Callable[[Request], Awaitable[Response]]

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
"""What FastAPI would serve itself; ``create_app`` turns its own off and installs these."""


def public_access(settings: Settings) -> Access:
    """Who may read the operator's endpoints on the public port (module docstring)."""
    if settings.internal_token is not None:
        return "token"
    if settings.internal_port is not None or settings.environment == "production":
        return "off"
    return "open"


def _gated(handler: Handler, settings: Settings) -> Handler:
    access = public_access(settings)

    async def gated(request: Request) -> Response:
        if access == "off":
            raise NotFound("not found")
        if access == "token" and not has_internal_token(request, settings):
            raise Unauthorized("this endpoint needs 'Authorization: Bearer <INTERNAL_TOKEN>'")
        return await handler(request)

    return gated


def _document_handlers(app: FastAPI) -> dict[str, Handler]:
    title = f"{app.title} API"

    async def openapi(_request: Request) -> Response:
        return JSONResponse(app.openapi())

    async def docs(_request: Request) -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=title)

    async def redoc(_request: Request) -> Response:
        return get_redoc_html(openapi_url="/openapi.json", title=title)

    return {"/openapi.json": openapi, "/docs": docs, "/redoc": redoc}


def install_public_routes(app: FastAPI, settings: Settings, *, documents: bool) -> None:
    """The operator's endpoints on the public app, behind :func:`public_access`; the
    API documents only where ``documents`` (roles that serve the REST API)."""
    if settings.metrics_enabled:
        endpoint = metrics.metrics_endpoint(settings)
        app.add_route("/metrics", _gated(endpoint, settings), include_in_schema=False)
    if documents:
        for path, handler in _document_handlers(app).items():
            app.add_route(path, _gated(handler, settings), include_in_schema=False)


def create_internal_app(app: FastAPI, settings: Settings, *, documents: bool) -> FastAPI:
    """The app ``ballsy serve`` serves on ``INTERNAL_PORT``: ``app``'s metrics, documents
    and readiness with its errors, sharing ``app``'s state (so its lifespan's services)."""
    internal = FastAPI(title="Ballsy internal", docs_url=None, redoc_url=None, openapi_url=None)
    internal.state = app.state

    async def ready(request: Request) -> Response:
        return await health.readiness_answer(get_readiness(request), detail=True)

    async def alive(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    internal.add_route("/health", alive)
    internal.add_route("/ready", ready)
    if settings.metrics_enabled:
        internal.add_route("/metrics", metrics.metrics_endpoint(settings))
    if documents:
        for path, handler in _document_handlers(app).items():
            internal.add_route(path, handler)
    return internal
