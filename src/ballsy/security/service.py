"""Authentication: turn a credential into a :class:`Principal`, or refuse.

Credentials by ``AUTH_MODE``:

- ``none`` (development only): the client names itself; that name is the user.
- ``apikey``: ``bk_…`` API keys.
- ``jwt``: API keys, plus password login that issues JWT access + refresh tokens.

Browser WebSockets cannot send headers, so an authenticated client trades its
credential for a one-use ticket (``ws-ticket:{hash}`` in shared state, seconds long)
and passes that in the URL. Failures say as little as possible: which part was wrong
is logged, not answered.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import timedelta

from ballsy.accounts.keys import hash_api_key, looks_like_api_key
from ballsy.config import Settings
from ballsy.errors import NotFound, Unauthorized
from ballsy.observability.logging import get_logger
from ballsy.security.passwords import verify_password
from ballsy.security.principal import Principal, as_role
from ballsy.security.tokens import TokenInvalid, TokenIssuer, TokenPair
from ballsy.state.base import StateBackend
from ballsy.state.ratelimit import RateLimits
from ballsy.store.db import Database
from ballsy.store.models import utcnow
from ballsy.store.repositories import ApiKeyRepository, UserRepository

log = get_logger("ballsy.auth")
# last_used_at is a hint for humans; writing it on every request would cost a write.
_TOUCH_EVERY = timedelta(minutes=5)
_BAD_LOGIN = "wrong user name or password"


def _ticket_key(ticket: str) -> str:
    return "ws-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


class AuthService:
    def __init__(
        self, settings: Settings, database: Database, state: StateBackend, limits: RateLimits
    ) -> None:
        self.mode = settings.auth_mode
        self.database = database
        self.state = state
        self.limits = limits
        self.ticket_ttl = settings.ws_ticket_ttl
        self.tokens = TokenIssuer(
            settings.jwt_secret.get_secret_value(),
            access_ttl=settings.jwt_access_ttl,
            refresh_ttl=settings.jwt_refresh_ttl,
        )

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    async def for_client(self, name: str) -> Principal:
        """``AUTH_MODE=none``: the client-chosen name is the user (created on first sight).

        The single local user of development owns the whole server, so it is an admin.
        """
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_or_create(name)
        return Principal(user.id, user.client_id, "admin", "none")

    async def from_credential(self, token: str) -> Principal:
        """An API key, or (``AUTH_MODE=jwt``) an access token."""
        if looks_like_api_key(token):
            return await self._from_api_key(token)
        if self.mode != "jwt":
            raise Unauthorized("invalid API key")
        try:
            claims = self.tokens.verify(token, "access")
        except TokenInvalid as exc:
            raise Unauthorized(str(exc)) from None
        return Principal(claims.user_id, claims.name, as_role(claims.role), "jwt")

    async def _from_api_key(self, key: str) -> Principal:
        async with self.database.transaction() as session:
            keys = ApiKeyRepository(session)
            found = await keys.find_active(hash_api_key(key))
            if found is None:
                raise Unauthorized("invalid API key")
            api_key, user = found
            now = utcnow()
            last = api_key.last_used_at
            if last is not None and last.tzinfo is None:  # SQLite returns naive UTC
                last = last.replace(tzinfo=now.tzinfo)
            if last is None or now - last > _TOUCH_EVERY:
                await keys.touch(api_key.id, now)
        return Principal(user.id, user.client_id, as_role(user.role), "apikey", api_key.id)

    # --- password login and refresh (AUTH_MODE=jwt) --------------------------------
    def _require_jwt(self) -> None:
        if self.mode != "jwt":
            raise NotFound("password login is off on this server (AUTH_MODE is not jwt)")

    async def login(self, name: str, password: str, client_ip: str) -> TokenPair:
        """Password login; the address's budget was spent before the body was read
        (:mod:`ballsy.security.early_auth`), the account's is spent here."""
        self._require_jwt()
        await self.limits.check_login_account(name, client_ip)
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_by_client_id(name)
        ok = await verify_password(password, user.password_hash if user else None)
        if user is None or not ok or not user.is_active:
            log.info("ballsy.auth.login_failed", reason="credentials")
            raise Unauthorized(_BAD_LOGIN)
        await self.limits.remember_login(name, client_ip)
        return self.tokens.issue(user.id, user.client_id, user.role, user.token_version)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a refresh token, which is spent (used twice: all are revoked)."""
        self._require_jwt()
        try:
            claims = self.tokens.verify(refresh_token, "refresh")
        except TokenInvalid as exc:
            raise Unauthorized(str(exc)) from None
        remaining = max(1.0, claims.expires_at - time.time())
        first_use = await self.state.set_if_absent(f"refresh-used:{claims.jti}", "1", remaining)
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(claims.user_id)
            if user is not None and not first_use and user.token_version == claims.version:
                # A refresh token came back after it was spent: someone else may hold it.
                user.token_version += 1
                log.warning("ballsy.auth.refresh_reuse", user_id=user.id)
        if user is None or not first_use or not user.is_active:
            raise Unauthorized("the refresh token is no longer valid")
        if user.token_version != claims.version:
            raise Unauthorized("the refresh token was revoked")
        return self.tokens.issue(user.id, user.client_id, user.role, user.token_version)

    # --- WebSocket tickets ---------------------------------------------------------
    async def issue_ws_ticket(self, principal: Principal) -> str:
        ticket = secrets.token_urlsafe(24)
        payload = json.dumps([principal.user_id, principal.name, principal.role])
        await self.state.set(_ticket_key(ticket), payload, self.ticket_ttl)
        return ticket

    async def redeem_ws_ticket(self, ticket: str) -> Principal:
        raw = await self.state.take(_ticket_key(ticket)) if len(ticket) < 100 else None
        if raw is None:
            raise Unauthorized("the WebSocket ticket is unknown, used or expired")
        user_id, name, role = json.loads(raw)
        return Principal(str(user_id), str(name), as_role(str(role)), "ticket")
