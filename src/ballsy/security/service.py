"""Authentication: turn a credential into a :class:`Principal`, or refuse.

Credentials by ``AUTH_MODE``:

- ``none`` (development only): the client names itself; that name is the user.
- ``apikey``: ``bk_…`` API keys.
- ``jwt``: API keys, plus password login that issues JWT access + refresh tokens.

Browser WebSockets cannot send headers, so an authenticated client trades its
credential for a one-use ticket (``ws-ticket:{hash}`` in shared state, seconds long)
and passes that in the URL. Failures say as little as possible: which part was wrong
is logged, not answered.

Revocation: an access token and a ticket carry the user's ``token_version``; using
either re-reads the user row, so a disabled user, a password change or a role change
(each bumps the version) stops them at once, and the role used is always the row's.
"""

from __future__ import annotations

import asyncio
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
from ballsy.store.models import User, utcnow
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
        self.recheck_s = settings.ws_principal_recheck_s
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
        user = await self._current_user(claims.user_id, claims.version)
        if user is None:
            raise Unauthorized("the token was revoked")
        return Principal(
            user.id,
            user.client_id,
            as_role(user.role),
            "jwt",
            auth_time=claims.auth_time,
            version=user.token_version,
        )

    async def _current_user(self, user_id: str, version: int) -> User | None:
        """The user, if still active and ``version`` is still theirs (else revoked)."""
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(user_id)
        if user is None or not user.is_active or user.token_version != version:
            return None
        return user

    async def still_valid(self, principal: Principal) -> Principal | None:
        """The caller as they stand now (role re-read), or None if disabled or revoked:
        what a long-lived socket asks every minute."""
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(principal.user_id)
            key_ok = True
            if principal.key_id is not None:
                key_ok = await ApiKeyRepository(session).is_live(principal.key_id)
        if user is None or not user.is_active or not key_ok:
            return None
        if principal.via in {"jwt", "ticket"} and principal.version != user.token_version:
            return None
        return Principal(
            user.id,
            user.client_id,
            as_role(user.role),
            principal.via,
            principal.key_id,
            principal.auth_time,
            principal.version,
        )

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
        return Principal(
            user.id,
            user.client_id,
            as_role(user.role),
            "apikey",
            api_key.id,
            version=user.token_version,
        )

    async def revoked(self, principal: Principal) -> None:
        """Return once ``principal`` no longer holds (disabled, demoted, key revoked,
        password changed), re-checking every ``recheck_s``; never for ``AUTH_MODE=none``.
        The socket's lifetime closes the connection when it returns."""
        if principal.via == "none":
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                now = await self.still_valid(principal)
            except Exception:  # a database blip is no reason to drop a caller
                log.warning("ballsy.auth.recheck_failed", user_id=principal.user_id)
                continue
            if now is None or now.role != principal.role:
                log.info("ballsy.auth.socket_revoked", user_id=principal.user_id)
                return

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
        return self.tokens.issue(
            user.id, user.client_id, user.role, user.token_version, auth_time=int(time.time())
        )

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
        return self.tokens.issue(
            user.id, user.client_id, user.role, user.token_version, auth_time=claims.auth_time
        )

    # --- WebSocket tickets ---------------------------------------------------------
    async def issue_ws_ticket(self, principal: Principal) -> str:
        ticket = secrets.token_urlsafe(24)
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(principal.user_id)
        version = user.token_version if user is not None else 0
        payload = json.dumps([principal.user_id, principal.name, principal.role, version])
        await self.state.set(_ticket_key(ticket), payload, self.ticket_ttl)
        return ticket

    async def redeem_ws_ticket(self, ticket: str) -> Principal:
        raw = await self.state.take(_ticket_key(ticket)) if len(ticket) < 100 else None
        if raw is None:
            raise Unauthorized("the WebSocket ticket is unknown, used or expired")
        user_id, _name, _role, version = json.loads(raw)
        user = await self._current_user(str(user_id), int(version))
        if user is None:  # disabled, or password/role changed since it was issued
            raise Unauthorized("the WebSocket ticket was revoked")
        return Principal(
            user.id, user.client_id, as_role(user.role), "ticket", version=user.token_version
        )
