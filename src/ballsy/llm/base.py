"""The LLM provider protocol: chat messages in, streamed text deltas out.

Tools: ``GenerationOptions.tools`` offers functions (OpenAI function-tool shape) to a
model that can call them; a provider that gets a tool call from its model yields one
``Delta`` whose ``tool_calls`` hold the whole calls (arguments assembled) with
``finish_reason="tool_calls"``. The caller runs them — Ballsy's tool loop, or the client
of ``/v1/chat/completions`` and ``/v1/realtime`` — and sends the results back as
``role="tool"`` messages after an assistant message carrying those ``tool_calls``.

A provider is one file in ``providers/`` registering a factory under its config name;
``registry.py`` builds the configured one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function a model may call: the OpenAI function tool's three fields."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    """A JSON Schema object for the arguments."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call a model made: its id, the function's name and the arguments as JSON text
    (exactly as the model wrote them; the caller parses and validates)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    """On an assistant message: the calls it made (its ``content`` may be empty)."""
    tool_call_id: str | None = None
    """On a ``tool`` message: the call whose result ``content`` is."""


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    max_tokens: int = 200
    temperature: float = 0.7
    model: str | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none", "required"] | None = None


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
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(slots=True)
class Completion:
    text: str
    model: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    tool_calls: tuple[ToolCall, ...] = ()


class LLMProvider(Protocol):
    name: str
    supports_tools: bool
    """Whether the model may be offered tools: a provider that cannot use them (the
    small local model, unless ``LOCAL_LLM_TOOLS``) is never sent any."""

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
    calls: list[ToolCall] = []
    async for delta in provider.stream(messages, options):
        parts.append(delta.text)
        calls.extend(delta.tool_calls)
        if delta.finish_reason:
            finish_reason = delta.finish_reason
        if delta.usage:
            usage = delta.usage
    return Completion(
        text="".join(parts).strip(),
        model=options.model or provider.default_model,
        finish_reason=finish_reason,
        usage=usage,
        tool_calls=tuple(calls),
    )
