"""The contract every built-in skill honours: what it is given and what it answers.

A skill is tried before the LLM. It either answers the whole utterance with a
`SkillReply` or returns None so the next skill (and finally the LLM) gets it.
Skills must never raise on arbitrary user text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class SkillContext:
    """What a skill may know about the turn besides the words said."""

    now: datetime  # timezone-aware current time in the user's zone
    language: str = "en"


@dataclass(frozen=True, slots=True)
class SkillReply:
    """A finished answer: `text` is spoken, `data` is JSON-serialisable for the client."""

    skill: str  # "math" | "links" | "time"
    text: str
    data: dict[str, Any]


class Skill(Protocol):
    """Answers utterances it fully understands; returns None for everything else."""

    name: str

    def answer(self, text: str, context: SkillContext) -> SkillReply | None: ...


def is_english(context: SkillContext) -> bool:
    """The built-in phrasings and replies are English; other languages go to the LLM."""
    return context.language.lower().startswith("en")
