"""The tool-source protocol: what the assistant's tool loop asks of every source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ballsy.llm.base import ToolSpec


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

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> str: ...


class ToolFailed(Exception):
    """A tool could not do what it was asked; ``str(exc)`` is said to the model."""
