"""``create_app()``: the ASGI application with its routers, middleware and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ballsy import __version__
from ballsy.api import command, health, history
from ballsy.api import settings as settings_routes
from ballsy.api.errors import install_error_handlers
from ballsy.config import Settings
from ballsy.services import Services


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings)
        await services.start()
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Ballsy",
        version=__version__,
        description="Self-hostable voice AI assistant server.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    if settings.allowed_hosts and settings.allowed_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    for router in (health.router, command.router, history.router, settings_routes.router):
        app.include_router(router)
    return app
