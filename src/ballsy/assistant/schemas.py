"""What an answered turn looks like to its caller: validated from its history row.

:class:`TurnResult` is what :meth:`Assistant.finish` returns and ``POST /api/command``
answers with; :class:`HistoryItem` is one entry of ``GET /api/history``. Both are read
from the ``command_history`` row (``from_attributes``), never copied field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

Source = Literal["text", "voice"]


class HandledBy(BaseModel):
    """Who answered: a skill (``name`` is the skill), an LLM provider, or a notice."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    kind: Literal["skill", "llm", "notice"]
    name: str
    model: str | None = None


def _column(name: str, column: str) -> Any:
    # A history row names it ``column``; a dump of the schema names it ``name``.
    return Field(validation_alias=AliasChoices(column, name))


class TurnResult(BaseModel):
    """An answered turn, as stored."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    text: str = _column("text", "input_text")
    reply: str = _column("reply", "reply_text")
    handled_by: HandledBy = _column("handled_by", "answered_by")
    data: dict[str, Any]
    timings: dict[str, float]
    conversation_id: str | None
    created_at: datetime


class HistoryItem(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    text: str = _column("text", "input_text")
    reply: str = _column("reply", "reply_text")
    source: str
    handled_by: HandledBy = _column("handled_by", "answered_by")
    interrupted: bool
    timings: dict[str, Any]
    created_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_before: int | None = Field(
        description="Pass as ?before= for the next (older) page; null on the last page."
    )


class VoiceAudio(BaseModel):
    format: Literal["wav"]
    base64: str | None = None
    url: str | None = None


class VoiceOut(TurnResult):
    """A spoken turn: the turn, the language heard, and the reply's speech."""

    transcript_language: str
    audio: VoiceAudio | None
