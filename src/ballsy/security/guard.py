"""The app-wide dependency that authenticates (and rate-limits) every route.

``create_app`` installs a dependency on the whole application that answers public
paths at once and otherwise calls :func:`authenticate` with the process's
``AuthService`` and ``RateLimits``. So a route added later by any router is protected
without remembering to be: the only unauthenticated routes are the explicit
:data:`PUBLIC_PATHS` (probes, login, docs, the web page shells) and mounted static
files. A test walks ``app.routes`` to hold that line.

HTTP: a missing or bad credential is 401; then the user's REST budget is spent (429
when empty; the window goes to ``scope["state"]`` for the ``X-RateLimit-*`` headers).
The same :func:`authenticate` runs first in :mod:`ballsy.security.early_auth`, from the
headers alone, before a byte of the body is read; this dependency is the second line
(and the only one for ``AUTH_MODE=none``, whose client may name itself in the body).
WebSocket: a credential in the handshake (header, ``?ticket=``, or OpenAI's
``openai-insecure-api-key.`` subprotocol) is checked here and a bad one refused
before accept; with none, the route must call
:func:`ballsy.security.websocket.authenticate_websocket` (first-message auth).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import WebSocketException
from starlette.requests import HTTPConnection

from ballsy.errors import Unauthorized
from ballsy.names import valid_client_id
from ballsy.scheduling import work_for
from ballsy.security.principal import Principal

if TYPE_CHECKING:
    from ballsy.security.service import AuthService
    from ballsy.state.ratelimit import RateLimits

LOGIN_PATH = "/api/auth/token"
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/ready",
        "/metrics",
        LOGIN_PATH,
        "/api/auth/refresh",
        "/",
        "/admin",  # the dashboard's page shell; its data needs the admin role
        "/favicon.ico",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)
RATE_LIMIT_STATE = "ballsy_rate_limit"
PRINCIPAL_STATE = "ballsy_principal"
_OPENAI_KEY_PROTOCOL = "openai-insecure-api-key."
_WS_POLICY_VIOLATION = 1008


def is_public_path(path: str) -> bool:
    # Public paths have no parameters, so the request path of a matched route equals
    # its template; an app mounted under a prefix fails closed (probes would get 401).
    return path in PUBLIC_PATHS


def is_public(conn: HTTPConnection) -> bool:
    return is_public_path(str(conn.scope.get("path", "")))


def bearer_credential(conn: HTTPConnection) -> str | None:
    """``Authorization: Bearer …`` or ``X-API-Key``; a malformed header is refused."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <API key or access token>'")
        return token.strip()
    key = conn.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def _subprotocol_credential(conn: HTTPConnection) -> str | None:
    for protocol in conn.headers.get("sec-websocket-protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith(_OPENAI_KEY_PROTOCOL):
            return protocol.removeprefix(_OPENAI_KEY_PROTOCOL)
    return None


async def _body_client_id(request: Request) -> Any:
    # FastAPI has parsed (and Starlette cached) the body by the time dependencies
    # run; reading it again here costs nothing and never consumes the stream twice.
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            body = await request.json()
            return body.get("client_id") if isinstance(body, dict) else None
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            return (await request.form()).get("client_id")
    except Exception:  # malformed bodies are the route's 422 to report, not ours
        return None
    return None


async def client_name(conn: HTTPConnection) -> str:
    """``AUTH_MODE=none``: the name the client gives (body, path, query, header)."""
    candidates: list[Any] = []
    if isinstance(conn, Request) and conn.method in {"POST", "PUT", "PATCH"}:
        candidates.append(await _body_client_id(conn))
    candidates += [
        conn.path_params.get("client_id"),
        conn.query_params.get("client_id"),
        conn.headers.get("x-client-id"),
    ]
    for candidate in candidates:
        if valid_client_id(candidate):
            return candidate
    return "local"


async def _authenticate_websocket_handshake(
    conn: HTTPConnection, auth: AuthService
) -> Principal | None:
    try:
        ticket = conn.query_params.get("ticket")
        if ticket:
            return await auth.redeem_ws_ticket(ticket)
        token = bearer_credential(conn) or _subprotocol_credential(conn)
        return await auth.from_credential(token) if token else None
    except Unauthorized as exc:
        raise WebSocketException(_WS_POLICY_VIOLATION, reason=exc.message) from None


async def authenticate(
    conn: HTTPConnection, auth: AuthService, limits: RateLimits
) -> Principal | None:
    """The caller of a non-public route, cached for ``CurrentUser``; None for a WebSocket
    that will authenticate with its first message."""
    cached: Principal | None = getattr(conn.state, PRINCIPAL_STATE, None)
    if cached is not None:
        work_for(cached.user_id)
        return cached
    principal: Principal | None
    if not auth.enabled:
        principal = await auth.for_client(await client_name(conn))
    elif conn.scope["type"] == "websocket":
        principal = await _authenticate_websocket_handshake(conn, auth)
    else:
        token = bearer_credential(conn)
        if token is None:
            raise Unauthorized("authentication required: send an API key or access token")
        principal = await auth.from_credential(token)
    if principal is None:
        return None
    setattr(conn.state, PRINCIPAL_STATE, principal)
    # Shared models serve this request's work in turn with other users' (scheduling.py).
    work_for(principal.user_id)
    if conn.scope["type"] == "http":
        window = await limits.check_request(principal.user_id)
        setattr(conn.state, RATE_LIMIT_STATE, window)
    return principal


def current_principal(conn: HTTPConnection) -> Principal:
    """The caller of a protected route (set by :func:`authenticate`, which always ran
    first)."""
    principal: Principal | None = getattr(conn.state, PRINCIPAL_STATE, None)
    if principal is None:
        raise Unauthorized("authentication required")
    return principal
