"""The optional AI response cache: ``ai:response:{hash}`` with a TTL (``AI_CACHE_TTL``).

Only prompts with no personal context may be cached: the caller (the assistant)
decides that — no conversation memory, the server's default persona — and builds the
key from what shapes the answer (provider, model, sampling, persona, the date, the
question). A cached reply is served as one piece and costs no tokens.

The cache wraps a provider for one call (:meth:`ResponseCache.cached`), so providers
themselves stay unaware of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence

from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, LLMProvider
from ballsy.state.base import StateBackend

PREFIX = "ai:response:"
_MAX_CACHED_CHARS = 20_000


def cache_key(*parts: object) -> str:
    """A stable hash of the inputs that decide an answer."""
    encoded = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class ResponseCache:
    def __init__(self, state: StateBackend, ttl: int) -> None:
        self.state = state
        self.ttl = ttl

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    async def get(self, key: str) -> str | None:
        return await self.state.get(PREFIX + key)

    async def put(self, key: str, text: str) -> None:
        if self.enabled and text and len(text) <= _MAX_CACHED_CHARS:
            await self.state.set(PREFIX + key, text, self.ttl)

    def cached(self, provider: LLMProvider, key: str) -> CachedLLM:
        return CachedLLM(provider, self, key)


class CachedLLM:
    """One provider call through the cache: a hit replays, a complete miss is stored.

    Only the first call of a turn goes through the cache: in a tool loop the later
    calls carry this user's tool results, so they are neither replayed nor stored (and
    a first call that ends in tool calls does not finish with ``stop``, so it is not
    stored either).
    """

    def __init__(self, inner: LLMProvider, cache: ResponseCache, key: str) -> None:
        self.inner = inner
        self.cache = cache
        self.key = key
        self.name = inner.name
        self.hit = False
        self._asked = False

    @property
    def default_model(self) -> str:
        return self.inner.default_model

    @property
    def supports_tools(self) -> bool:
        return self.inner.supports_tools

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        if self._asked:
            async for delta in self.inner.stream(messages, options):
                yield delta
            return
        self._asked = True
        cached = await self.cache.get(self.key)
        if cached is not None:
            self.hit = True
            yield Delta(text=cached)
            yield Delta(text="", finish_reason="stop")
            return
        parts: list[str] = []
        finish: str | None = None
        async for delta in self.inner.stream(messages, options):
            parts.append(delta.text)
            finish = delta.finish_reason or finish
            yield delta
        # Only a reply that ended on its own is worth replaying (not cut, not cancelled).
        if finish == "stop":
            await self.cache.put(self.key, "".join(parts).strip())

    async def check(self) -> None:
        await self.inner.check()

    async def close(self) -> None:
        return None
