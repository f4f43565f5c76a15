"""Authentication from the headers, before a byte of the body is read (pure ASGI).

FastAPI reads (and spools) a request's body before its dependencies run, so the guard
dependency alone would accept a 2 GiB multipart upload from anyone and only then
answer 401. :class:`HeaderAuthMiddleware` runs the guard's own
:func:`~ballsy.security.guard.authenticate` on the headers first, on every HTTP route
that is not public (the guard's :data:`~ballsy.security.guard.PUBLIC_PATHS`, and
mounted static files): a missing or bad credential is 401, an empty request budget
429, answered at once with the project's error body. A caller it lets through is
cached on the request, so the guard (still the second line) neither checks the key
again nor spends a second request from the budget.

Password login (``POST /api/auth/token``) spends the client address's login budget
here too, so a flood of attempts is refused before its bodies are read.

``AUTH_MODE=none`` is left to the guard: there the client may name itself in the
body. An unexpected failure (the database down while looking up a key) is left to the
guard as well, which answers it through the error handlers (503, never 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ballsy.errors import BallsyError
from ballsy.security.guard import (
    LOGIN_PATH,
    PRINCIPAL_STATE,
    RATE_LIMIT_STATE,
    authenticate,
    is_public_path,
)
from ballsy.security.http import send_error

if TYPE_CHECKING:
    from ballsy.security.service import AuthService
    from ballsy.state.ratelimit import RateLimits

AuthOf = Callable[[Scope], "tuple[AuthService, RateLimits]"]


def client_address(scope: Scope) -> str:
    """The client's address: the peer, or what a trusted proxy said (TRUSTED_PROXIES)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class HeaderAuthMiddleware:
    def __init__(
        self, app: ASGIApp, *, auth_of: AuthOf, public_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        # The lifespan builds the services after the middleware stack: looked up per call.
        self.auth_of = auth_of
        self.public_prefixes = public_prefixes

    def _needs_credential(self, path: str) -> bool:
        return not is_public_path(path) and not path.startswith(self.public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSockets: the guard refuses before accept
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        auth, limits = self.auth_of(scope)
        try:
            if path == LOGIN_PATH and scope["method"] == "POST":
                await limits.check_login_address(client_address(scope))
            elif auth.enabled and self._needs_credential(path):
                await authenticate(HTTPConnection(scope), auth, limits)
        except BallsyError as exc:  # 401 unauthorized, 429 rate_limited
            await send_error(
                send,
                path,
                exc.status_code,
                exc.code,
                exc.message,
                headers=exc.headers(),
                detail=exc.detail,
            )
            return
        except Exception:
            state = scope.get("state", {})
            state.pop(PRINCIPAL_STATE, None)  # half done: the guard starts over
            state.pop(RATE_LIMIT_STATE, None)
        await self.app(scope, receive, send)
