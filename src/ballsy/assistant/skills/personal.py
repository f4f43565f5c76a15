"""Personal skills: timers, reminders and lists, which read and change the user's data.

The built-in skills (math, time, links) are pure functions of the words; these need
the user and the database, so they are a second step of a turn, after the pure skills
and before the LLM (:meth:`ballsy.assistant.service.Assistant.reply`). They are split
in two on purpose:

- :meth:`PersonalSkill.parse` is pure and fast: the words become a typed request, or
  None so the LLM gets the turn. Every phrasing is unit-tested here without a database.
- :meth:`PersonalRequest.answer` runs with a :class:`PersonalStore` scoped to the
  user (reads only) and returns the reply plus an ``effect``: the change to make. The
  assistant applies the effect in :meth:`~ballsy.assistant.service.Assistant.finish`,
  in the transaction that stores the turn, so a speculative reply that the voice
  engine starts during a pause and then drops changes nothing, and a stored turn
  always comes with its change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ballsy.observability.logging import get_logger
from ballsy.store.models import DueItem

from .base import SkillContext, SkillReply
from .wording import speak_items

log = get_logger("ballsy.assistant.skills")


class PersonalStore(Protocol):
    """The user's timers, reminders and lists (the store's ``PersonalRepository``)."""

    async def add_due(
        self, kind: str, label: str, due_at: datetime, duration_s: float | None = None
    ) -> DueItem: ...

    async def pending(self, kind: str) -> list[DueItem]: ...

    async def cancel(self, ids: Sequence[str]) -> int: ...

    async def list_names(self) -> list[str]: ...

    async def items(self, name: str) -> list[str]: ...

    async def add_items(self, name: str, items: Sequence[str]) -> None: ...

    async def remove_items(self, name: str, items: Sequence[str]) -> list[str]: ...

    async def clear(self, name: str) -> int: ...


Effect = Callable[[PersonalStore], Awaitable[object]]
"""A change to the user's data, applied when the turn is stored."""


@dataclass(frozen=True, slots=True)
class PersonalReply:
    reply: SkillReply
    effect: Effect | None = None


class PersonalRequest(Protocol):
    """What the user asked for, parsed; answered against their data."""

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply: ...


class PersonalSkill(Protocol):
    name: str

    def parse(self, text: str, context: SkillContext) -> PersonalRequest | None: ...


def find_personal_request(
    text: str, context: SkillContext, skills: Sequence[PersonalSkill]
) -> PersonalRequest | None:
    """The first personal skill's request for ``text``, or None for the LLM."""
    for skill in skills:
        try:
            request = skill.parse(text, context)
        except Exception:
            # A parser bug must not cost the user their turn; the LLM still answers.
            log.exception("ballsy.assistant.skill_failed", skill=skill.name)
            continue
        if request is not None:
            return request
    return None


def reply(skill: str, text: str, **data: object) -> PersonalReply:
    return PersonalReply(SkillReply(skill=skill, text=text, data=dict(data)))


def cancel_due(
    skill: str,
    noun: str,
    chosen: Sequence[DueItem],
    *,
    every: bool,
    listed: Callable[[DueItem], str],
    one: Callable[[DueItem], str],
) -> PersonalReply:
    """Cancel the ``chosen`` timers or reminders — or, when a name matched several and
    the user did not say "all", ask which one (``listed`` says each, ``one`` the one)."""
    if len(chosen) > 1 and not every:
        said = speak_items([listed(item) for item in chosen])
        text = f"You have {len(chosen)} {noun}s: {said}. Which one should I cancel?"
        return reply(skill, text, action="cancel", cancelled=0)
    ids = [item.id for item in chosen]
    text = (
        f"OK, I cancelled {one(chosen[0])}."
        if len(chosen) == 1
        else f"OK, I cancelled all {len(chosen)} {noun}s."
    )

    async def cancel(store: PersonalStore) -> object:
        return await store.cancel(ids)

    return PersonalReply(reply(skill, text, action="cancel", cancelled=len(ids)).reply, cancel)
