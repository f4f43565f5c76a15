"""Rate-limit policies: per user for REST, per user for voice turns, per name for login.

The counting itself is the ``limits`` library on the state backend (atomic Lua on
Redis, so N instances share one exact budget). This module only says which limit
applies to what, and turns a refusal into :class:`ballsy.errors.RateLimited` with the
``Retry-After`` and ``X-RateLimit-*`` headers (counted in ``ballsy_rate_limit_rejections_total``).

The messages of one WebSocket are limited where the socket lives, in-process
(:mod:`ballsy.realtime.wire.lifetime`): a socket is on one instance, and a Redis round
trip per audio frame would cost more than the frame.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, RateLimitItemPerMinute

from ballsy.config import Settings
from ballsy.errors import RateLimited
from ballsy.observability.metrics import RateLimitScope, record_rate_limited
from ballsy.state.base import RateWindow, StateBackend


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

    async def check_login(self, name: str, client_ip: str) -> None:
        """One password attempt, counted for the name and for the address."""
        await self._enforce(self.login, f"name:{name.lower()}", "login attempts", "login")
        await self._enforce(self.login, f"ip:{client_ip}", "login attempts", "login")

    async def check_voice_turn(self, user_id: str) -> RateWindow:
        """One voice turn by this user, over all their sockets (``WS_TURNS_PER_MINUTE``);
        counted when its transcription starts, so a reconnect does not reset it."""
        return await self._enforce(self.ws_turn, user_id, "turns", "voice_turn")
