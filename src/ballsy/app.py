"""``create_app()``: the ASGI application with its routers, middleware and lifespan.

This module, ``cli.py`` and ``api/deps.py`` are the only readers of the service
container (``app.state.services``): everything else is handed the few services it
uses — the guard its ``AuthService`` and ``RateLimits``, the Wyoming server its
:class:`~ballsy.wyoming.backends.WyomingBackends`, routes their dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ballsy import __version__
from ballsy.api import (
    admin,
    auth,
    command,
    health,
    history,
    internal,
    openai_audio,
    openai_chat,
    voice,
)
from ballsy.api import events as event_routes
from ballsy.api import sessions as session_routes
from ballsy.api import settings as settings_routes
from ballsy.api import transcriptions as transcription_routes
from ballsy.api.errors import install_error_handlers
from ballsy.api.openapi import install_openapi
from ballsy.config import ServerRole, Settings
from ballsy.observability import metrics, tracing
from ballsy.observability.middleware import RequestObserver
from ballsy.provider_names import check_provider_names
from ballsy.realtime.wire import native as native_realtime
from ballsy.realtime.wire.openai import socket as openai_realtime
from ballsy.security.early_auth import HeaderAuthMiddleware
from ballsy.security.guard import authenticate, is_public
from ballsy.security.http import (
    BodyLimitMiddleware,
    RequestTimeoutMiddleware,
    SecurityHeadersMiddleware,
)
from ballsy.security.principal import Principal
from ballsy.security.secrets import resolve_secret_references
from ballsy.security.service import AuthService
from ballsy.services import Services
from ballsy.state.ratelimit import RateLimits
from ballsy.web import routes as web_routes
from ballsy.wyoming.backends import wyoming_backends
from ballsy.wyoming.server import start_wyoming, wyoming_port

_NO_DOCS: dict[str, Any] = {"docs_url": None, "redoc_url": None, "openapi_url": None}


def create_app(settings: Settings | None = None) -> FastAPI:
    # Secret Manager references become values here, once, before anything uses them.
    settings = resolve_secret_references(settings or Settings())
    check_provider_names(settings)  # a misspelt LLM_PROVIDER, STT_MODEL … stops here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.configure(settings)
        services = Services.build(settings)
        await services.start()
        app.state.services = services
        wyoming = None
        try:
            if wyoming_port(settings) is not None:
                # Home Assistant's Wyoming protocol on its own TCP port, on the same models.
                backends = wyoming_backends(
                    settings,
                    speech=services.speech,
                    assistant=services.assistant,
                    limits=services.limits,
                    preferences=services.preferences,
                )
                wyoming = await start_wyoming(settings, backends)
            yield
        finally:
            if wyoming is not None:
                await wyoming.stop()
            await services.close()
            if settings.otel_enabled:
                tracing.shutdown()
            metrics.mark_process_dead(settings)

    app = FastAPI(
        title="Ballsy",
        version=__version__,
        description="Self-hostable voice AI assistant server.",
        lifespan=lifespan,
        # The documents are installed below, behind who may see them (ballsy.api.internal).
        **_NO_DOCS,
        # Every route, including ones added later, authenticates unless it is one of
        # ballsy.security.guard.PUBLIC_PATHS (tests/security walks app.routes for this).
        dependencies=[Depends(guard)],
    )
    install_error_handlers(app)
    install_openapi(app)  # error answers and their body schema on every operation
    # Innermost first: headers also go on the 413/504 answered by the two below them.
    app.add_middleware(
        RequestTimeoutMiddleware,
        timeout=settings.request_timeout,
        read_timeout=settings.upload_read_timeout,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_request_bytes,
        upload_limit=settings.max_upload_bytes,
        job_upload_limit=settings.job_max_upload_bytes,
    )
    # Authentication from the headers, before the body (ballsy.security.early_auth):
    # outside the body cap, so a stranger's upload is a 401, inside CORS (preflights).
    app.add_middleware(
        HeaderAuthMiddleware, auth_of=_auth_of, public_prefixes=(web_routes.STATIC_PREFIX,)
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.environment == "production")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
        )
    if settings.trusted_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    # Added last, so outermost: it counts and logs what the middleware above refuses too.
    app.add_middleware(
        RequestObserver,
        log_requests=settings.log_requests,
        record_metrics=settings.metrics_enabled,
    )
    if settings.trusted_proxies:
        # Outermost: the client address everything inside sees (login limits, logs) is
        # X-Forwarded-For's rightmost untrusted entry, only from a trusted peer.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    # /metrics and the API documents: open in development, else INTERNAL_TOKEN or
    # INTERNAL_PORT only; a realtime instance documents no REST API (docs/ has its sockets).
    internal.install_public_routes(app, settings, documents=has_documents(settings))
    for router in role_routers(settings.server_role):
        app.include_router(router)
    if settings.server_role not in ("realtime", "wyoming"):
        # The web client's assets: a mount, public like its page shells (docs/web.md).
        app.mount(web_routes.STATIC_PREFIX, web_routes.static_assets(), name="static")
    return app


def has_documents(settings: Settings) -> bool:
    """Whether this role serves the REST API, so its OpenAPI document and pages."""
    return settings.server_role not in ("realtime", "wyoming")


def internal_app(app: FastAPI, settings: Settings) -> FastAPI | None:
    """What ``ballsy serve`` also serves on ``INTERNAL_PORT``, when that is set."""
    if settings.internal_port is None:
        return None
    return internal.create_internal_app(app, settings, documents=has_documents(settings))


async def guard(conn: HTTPConnection) -> Principal | None:
    """The app-wide dependency: public paths pass, every other route authenticates with
    the process's ``AuthService`` and spends its ``RateLimits`` (ballsy.security.guard)."""
    if is_public(conn):
        return None
    services: Services = conn.app.state.services
    return await authenticate(conn, services.auth, services.limits)


def _auth_of(scope: Scope) -> tuple[AuthService, RateLimits]:
    """The early authentication's services (built by the lifespan, after the stack)."""
    services: Services = scope["app"].state.services
    return services.auth, services.limits


async def close_websockets(app: FastAPI) -> None:
    """Step 2 of a graceful stop (ballsy.serving): every open WebSocket gets its goodbye
    and a 1012 close, before the HTTP requests in flight are drained."""
    services: Services | None = getattr(app.state, "services", None)
    if services is not None:
        await services.connections.close_all()


# Each process role (SERVER_ROLE, `ballsy serve --role`) serves its own routers: the
# load balancer sends /ws/* and /v1/realtime to realtime instances (few long sockets
# each) and the rest to api instances (many short requests); docs/deploy.md.
OPERATIONS_ROUTERS: tuple[APIRouter, ...] = (health.router,)
API_ROUTERS: tuple[APIRouter, ...] = (
    command.router,
    voice.router,
    history.router,
    event_routes.router,
    settings_routes.router,
    openai_audio.router,
    openai_chat.router,
    auth.router,
    admin.router,
    session_routes.router,
    transcription_routes.router,
    web_routes.router,
)
REALTIME_ROUTERS: tuple[APIRouter, ...] = (native_realtime.router, openai_realtime.router)


def role_routers(role: ServerRole) -> tuple[APIRouter, ...]:
    """The routers a process of ``role`` includes (/health, /ready on every role)."""
    if role == "wyoming":  # only the Wyoming TCP server (ballsy.wyoming), no routes
        return OPERATIONS_ROUTERS
    if role == "api":
        return OPERATIONS_ROUTERS + API_ROUTERS
    if role == "realtime":
        return OPERATIONS_ROUTERS + REALTIME_ROUTERS
    return OPERATIONS_ROUTERS + API_ROUTERS + REALTIME_ROUTERS
