"""Spend caps: tokens per user per UTC day on paid (non-local) LLM providers.

:meth:`SpendGuard.capped` wraps a provider for one call on behalf of one user: the
budget is checked *before* the remote call (429 ``spend_cap_exceeded`` with
``Retry-After`` until midnight UTC) and the tokens the provider reports are added
after it (estimated from the text when it reports none, or when the call is cut).

Concurrent calls by one user are checked against the same past total, so a burst can
overshoot the cap by at most one reply each (``LLM_MAX_TOKENS``): the cap bounds cost,
it is not a ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

from ballsy.errors import SpendCapExceeded
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, LLMProvider
from ballsy.observability.metrics import record_rate_limited
from ballsy.store.db import Database
from ballsy.store.repositories import UsageRepository

LOCAL_PROVIDERS = frozenset({"local"})


def _today() -> date:
    return datetime.now(UTC).date()


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((tomorrow - now).total_seconds()))


def estimate_tokens(characters: int) -> int:
    """About four characters per token for English; only used when a provider is silent."""
    return characters // 4 + 1


class SpendGuard:
    def __init__(self, database: Database, daily_limit: int) -> None:
        self.database = database
        self.daily_limit = daily_limit
        self._recording: set[asyncio.Task[None]] = set()

    def applies_to(self, provider: LLMProvider) -> bool:
        return self.daily_limit > 0 and provider.name not in LOCAL_PROVIDERS

    async def used_today(self, user_id: str) -> int:
        async with self.database.transaction() as session:
            return await UsageRepository(session).tokens_on(user_id, _today())

    async def check(self, user_id: str) -> None:
        used = await self.used_today(user_id)
        if used >= self.daily_limit:
            record_rate_limited("spend_cap")
            raise SpendCapExceeded(
                f"today's budget of {self.daily_limit} tokens on paid models is used up",
                retry_after=_seconds_to_midnight(),
                detail={"limit": self.daily_limit, "used": used},
            )

    async def record(self, user_id: str, tokens: int) -> None:
        async with self.database.transaction() as session:
            await UsageRepository(session).add(user_id, _today(), max(0, tokens))

    def record_later(self, user_id: str, tokens: int) -> None:
        """Record from a stream being closed, where awaiting is not allowed."""
        task = asyncio.get_running_loop().create_task(self.record(user_id, tokens))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    def capped(self, provider: LLMProvider, user_id: str) -> LLMProvider:
        """``provider`` for this user's call: capped when it is paid, as is otherwise."""
        return SpendCappedLLM(provider, self, user_id) if self.applies_to(provider) else provider


class SpendCappedLLM:
    def __init__(self, inner: LLMProvider, guard: SpendGuard, user_id: str) -> None:
        self.inner = inner
        self.guard = guard
        self.user_id = user_id
        self.name = inner.name
        self.supports_tools = inner.supports_tools

    @property
    def default_model(self) -> str:
        return self.inner.default_model

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        await self.guard.check(self.user_id)
        reported: int | None = None
        characters = sum(len(m.content) for m in messages)
        completed = False
        try:
            async for delta in self.inner.stream(messages, options):
                characters += len(delta.text)
                if delta.usage is not None:
                    reported = delta.usage.prompt_tokens + delta.usage.completion_tokens
                yield delta
            completed = True
        finally:
            tokens = reported if reported is not None else estimate_tokens(characters)
            if completed:
                await self.guard.record(self.user_id, tokens)
            else:
                self.guard.record_later(self.user_id, tokens)

    async def check(self) -> None:
        await self.inner.check()

    async def close(self) -> None:
        return None
