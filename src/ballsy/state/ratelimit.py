"""Rate-limit policies: per user for REST, per user for voice turns, and for password
login per client address and per account.

Login, per account, counts only attempts from addresses that have never signed in to
that account (within ``KNOWN_ADDRESS_TTL``): a stranger spraying guesses from many
addresses runs that budget dry for strangers, while the owner, from an address they
signed in from before, still gets in. Every address also has its own budget
(``check_login_address``, spent before the body is read), so one address guesses
``MAX_LOGIN_ATTEMPTS_PER_MINUTE`` times a minute at most, whatever it claims to be.

The counting itself is the ``limits`` library on the state backend (atomic Lua on
Redis, so N instances share one exact budget). This module only says which limit
applies to what, and turns a refusal into :class:`ballsy.errors.RateLimited` with the
``Retry-After`` and ``X-RateLimit-*`` headers (counted in ``ballsy_rate_limit_rejections_total``).

The messages of one WebSocket are limited where the socket lives, in-process
(:mod:`ballsy.realtime.wire.lifetime`): a socket is on one instance, and a Redis round
trip per audio frame would cost more than the frame.
"""

from __future__ import annotations

import hashlib
import time

from limits import RateLimitItem, RateLimitItemPerMinute

from ballsy.config import Settings
from ballsy.errors import RateLimited
from ballsy.observability.metrics import RateLimitScope, record_rate_limited
from ballsy.state.base import RateWindow, StateBackend

KNOWN_ADDRESS_TTL = 30 * 86400.0
"""Seconds an address stays known to an account after a successful login from it."""


def _known_key(name: str, client_ip: str) -> str:
    digest = hashlib.sha256(f"{name.lower()}\n{client_ip}".encode()).hexdigest()
    return f"login-known:{digest}"


class RateLimits:
    def __init__(self, state: StateBackend, settings: Settings) -> None:
        self.state = state
        # Namespaces keep the policies' counters apart in one storage.
        self.rest = RateLimitItemPerMinute(settings.max_requests_per_minute, namespace="rest")
        self.login = RateLimitItemPerMinute(
            settings.max_login_attempts_per_minute, namespace="login"
        )
        self.ws_turn = RateLimitItemPerMinute(settings.ws_turns_per_minute, namespace="ws-turn")

    async def _enforce(
        self, item: RateLimitItem, key: str, what: str, scope: RateLimitScope
    ) -> RateWindow:
        window = await self.state.hit(item, key)
        if not window.allowed:
            record_rate_limited(scope)
            now = time.time()
            raise RateLimited(
                f"too many {what}; the limit is {window.limit} per minute",
                retry_after=window.reset_in(now),
                limit_headers=window.headers(now),
                detail={"limit": window.limit},
            )
        return window

    async def check_request(self, user_key: str) -> RateWindow:
        """One REST request by this user (``MAX_REQUESTS_PER_MINUTE``)."""
        return await self._enforce(self.rest, user_key, "requests", "rest")

    async def check_login_address(self, client_ip: str) -> None:
        """One password attempt from this address (``MAX_LOGIN_ATTEMPTS_PER_MINUTE``)."""
        await self._enforce(self.login, f"ip:{client_ip}", "login attempts", "login")

    async def check_login_account(self, name: str, client_ip: str) -> None:
        """One password attempt on this account, counted only from an address that has
        not signed in to it before: strangers share the budget, the owner is not in it."""
        if await self.state.get(_known_key(name, client_ip)) is None:
            await self._enforce(self.login, f"name:{name.lower()}", "login attempts", "login")

    async def remember_login(self, name: str, client_ip: str) -> None:
        """A successful login: this address is known to the account from now on."""
        await self.state.set(_known_key(name, client_ip), "1", KNOWN_ADDRESS_TTL)

    async def check_voice_turn(self, user_id: str) -> RateWindow:
        """One voice turn by this user, over all their sockets (``WS_TURNS_PER_MINUTE``);
        counted when its transcription starts, so a reconnect does not reset it."""
        return await self._enforce(self.ws_turn, user_id, "turns", "voice_turn")
