"""Serving the web client: the two page shells and their static assets.

The pages are public shells (``guard.PUBLIC_PATHS``); everything they show is loaded
from authenticated API routes. Assets are served under ``/static/<build>/…``, where
``<build>`` is a hash of the files' contents, so they can be cached for a year: a new
release changes the hash and therefore every URL. Modules import each other by
relative URL, so the build segment carries through without a bundler. The unversioned
``/static/…`` paths also work (revalidated on every use) for hand-written links.

The shells get a few server values at serve time (command length limit, voices) so
the client need not ask before it can validate input.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ballsy.api.deps import WebPageDep, WebPageServices

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
# Scripts, styles, fetch and WebSocket only from this origin; no inline code at all,
# which is what makes a stored XSS string inert even if it ever reached the DOM as HTML.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"

router = APIRouter(include_in_schema=False)


@cache
def build_id(directory: Path = STATIC_DIR) -> str:
    """A short hash of every asset's path and bytes: changes whenever any file does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class StaticAssets(StaticFiles):
    """``StaticFiles`` that strips the build segment and sets cache and CSP headers."""

    def __init__(self, directory: Path, build: str) -> None:
        super().__init__(directory=directory)
        self.build = build

    async def get_response(self, path: str, scope: Scope) -> Response:
        first, _, rest = path.partition(os.sep)
        versioned = first == self.build and bool(rest)
        response = await super().get_response(rest if versioned else path, scope)
        response.headers["Cache-Control"] = _IMMUTABLE if versioned else _REVALIDATE
        response.headers["Content-Security-Policy"] = PAGE_CSP
        return response


def _page_values(services: WebPageServices) -> dict[str, str]:
    settings = services.settings
    speech = services.speech
    voices = {engine: speech.tts_voices(engine) for engine in speech.tts_engines()}
    return {
        "static": f"{STATIC_PREFIX}/{build_id()}",
        "max_command_length": str(settings.max_command_length),
        "tts_engine": settings.tts_engine,
        "voices": json.dumps(voices, separators=(",", ":")),
    }


@cache
def _template(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def render_page(name: str, services: WebPageServices) -> str:
    """The page with its ``{{name}}`` placeholders filled (values HTML-escaped)."""
    page = _template(name)
    for key, value in _page_values(services).items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    return page


def _page(services: WebPageServices, name: str) -> HTMLResponse:
    return HTMLResponse(
        render_page(name, services),
        headers={"Cache-Control": _REVALIDATE, "Content-Security-Policy": PAGE_CSP},
    )


@router.get("/")
async def client_page(services: WebPageDep) -> HTMLResponse:
    return _page(services, "index.html")


@router.get("/admin")
async def admin_page(services: WebPageDep) -> HTMLResponse:
    return _page(services, "admin.html")


def static_assets() -> StaticAssets:
    """The ASGI app to mount at :data:`STATIC_PREFIX`."""
    return StaticAssets(STATIC_DIR, build_id())
