"""Wrap a remote provider so a failure before the first token falls back to another.

Once the primary has produced text the reply is committed to it: switching providers
mid-sentence would make the assistant contradict itself. The fallback is offered the
tools only when it can use them (the local model, with ``LOCAL_LLM_TOOLS``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ballsy.errors import ProviderError
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, LLMProvider
from ballsy.observability.logging import get_logger

log = get_logger("ballsy.llm")


class FallbackLLM:
    def __init__(self, primary: LLMProvider, fallback: LLMProvider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.supports_tools = primary.supports_tools

    @property
    def default_model(self) -> str:
        return self.primary.default_model

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        started = False
        try:
            async for delta in self.primary.stream(messages, options):
                started = True
                yield delta
            return
        except ProviderError as exc:
            if started:
                raise
            log.warning("ballsy.llm.fallback", provider=self.primary.name, error=exc.code)
        fallback_options = GenerationOptions(
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            stop=options.stop,
            tools=options.tools if self.fallback.supports_tools else (),
            tool_choice=options.tool_choice if self.fallback.supports_tools else None,
        )
        async for delta in self.fallback.stream(messages, fallback_options):
            yield delta

    async def check(self) -> None:
        await self.primary.check()

    async def close(self) -> None:
        await self.primary.close()
