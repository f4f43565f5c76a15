"""The LLM provider protocol: chat messages in, streamed text deltas out.

A provider is one file in ``providers/`` registering a factory under its config name;
``registry.py`` builds the configured one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    max_tokens: int = 200
    temperature: float = 0.7
    model: str | None = None
    stop: tuple[str, ...] = ()


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed output; the last one carries the finish reason and usage."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(slots=True)
class Completion:
    text: str
    model: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


class LLMProvider(Protocol):
    name: str

    @property
    def default_model(self) -> str: ...

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        """Yield deltas as the model produces them; closing the iterator cancels it."""
        ...

    async def check(self) -> None:
        """Raise if the provider cannot serve (model missing, unreachable)."""
        ...

    async def close(self) -> None: ...


async def complete(
    provider: LLMProvider, messages: Sequence[ChatMessage], options: GenerationOptions
) -> Completion:
    """Run ``stream`` to the end and gather the reply."""
    parts: list[str] = []
    finish_reason = "stop"
    usage = Usage()
    async for delta in provider.stream(messages, options):
        parts.append(delta.text)
        if delta.finish_reason:
            finish_reason = delta.finish_reason
        if delta.usage:
            usage = delta.usage
    return Completion(
        text="".join(parts).strip(),
        model=options.model or provider.default_model,
        finish_reason=finish_reason,
        usage=usage,
    )
