"""Built-in skills: answers that need no LLM (math, time, links; timers, reminders, lists).

`find_skill_reply` offers an utterance to each skill in priority order and
returns the first reply, or None so the LLM handles the turn. Math goes first
because it only answers pure expressions; the links skill goes last because
its patterns are the broadest. The personal skills (timers, reminders, lists) read
and change the user's data, so they are a step of their own (:mod:`.personal`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ballsy.observability.logging import get_logger

from .arithmetic import MathSkill
from .base import Skill, SkillContext, SkillReply
from .clock import ClockSkill
from .links import LinksSkill
from .lists import ListSkill
from .personal import (
    Effect,
    PersonalReply,
    PersonalSkill,
    PersonalStore,
    find_personal_request,
)
from .reminders import ReminderSkill
from .timers import TimerSkill

__all__ = [
    "DEFAULT_SKILLS",
    "PERSONAL_SKILLS",
    "ClockSkill",
    "Effect",
    "LinksSkill",
    "ListSkill",
    "MathSkill",
    "PersonalReply",
    "PersonalSkill",
    "PersonalStore",
    "ReminderSkill",
    "Skill",
    "SkillContext",
    "SkillReply",
    "TimerSkill",
    "find_personal_request",
    "find_skill_reply",
]

log = get_logger("ballsy.assistant.skills")

DEFAULT_SKILLS: tuple[Skill, ...] = (MathSkill(), ClockSkill(), LinksSkill())
PERSONAL_SKILLS: tuple[PersonalSkill, ...] = (TimerSkill(), ReminderSkill(), ListSkill())


def find_skill_reply(
    text: str, context: SkillContext, skills: Sequence[Skill] = DEFAULT_SKILLS
) -> SkillReply | None:
    """The first skill reply for `text`, or None when the LLM should answer."""
    for skill in skills:
        try:
            reply = skill.answer(text, context)
        except Exception:
            # A skill bug must not cost the user their turn; the LLM still answers.
            log.exception("ballsy.assistant.skill_failed", skill=skill.name)
            continue
        if reply is not None:
            return reply
    return None
