"""The tool-source protocol: what the assistant's tool loop asks of every source."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ballsy.assistant.skills.personal import Effect
from ballsy.llm.base import ToolSpec


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Whose turn a call belongs to: a skill sets that user's timer, in their time."""

    user_id: str
    now: datetime
    """The turn's moment in the user's timezone."""
    language: str = "en"
    defer: Callable[[Effect], None] | None = None
    """Where Ballsy's own skills hand the change a call makes (a timer to start), to be
    made when the turn is stored — as a skill's reply does — so that a speculative reply
    the voice engine drops changes nothing. None: the change is made at once."""


class ToolSource(Protocol):
    """A named set of tools (Ballsy's skills, one MCP server …).

    ``specs`` is what the model is offered now (it may change while the process runs,
    as an MCP server's list does); ``call`` runs one tool and returns its result as the
    text the model reads next. ``call`` raises :class:`ToolFailed` for a failure the
    model should hear about (bad arguments, the tool's own error); the loop bounds it
    with a timeout, so a source need not.
    """

    name: str

    def specs(self) -> Sequence[ToolSpec]: ...

    async def call(self, tool: str, arguments: Mapping[str, Any], context: ToolContext) -> str: ...


class ToolFailed(Exception):
    """A tool could not do what it was asked; ``str(exc)`` is said to the model."""
