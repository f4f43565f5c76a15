"""Built-in skills: answers that need no LLM (math, time, links).

`find_skill_reply` offers an utterance to each skill in priority order and
returns the first reply, or None so the LLM handles the turn. Math goes first
because it only answers pure expressions; the links skill goes last because
its patterns are the broadest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .arithmetic import MathSkill
from .base import Skill, SkillContext, SkillReply
from .clock import ClockSkill
from .links import LinksSkill

__all__ = [
    "DEFAULT_SKILLS",
    "ClockSkill",
    "LinksSkill",
    "MathSkill",
    "Skill",
    "SkillContext",
    "SkillReply",
    "find_skill_reply",
]

logger = logging.getLogger(__name__)

DEFAULT_SKILLS: tuple[Skill, ...] = (MathSkill(), ClockSkill(), LinksSkill())


def find_skill_reply(
    text: str, context: SkillContext, skills: Sequence[Skill] = DEFAULT_SKILLS
) -> SkillReply | None:
    """The first skill reply for `text`, or None when the LLM should answer."""
    for skill in skills:
        try:
            reply = skill.answer(text, context)
        except Exception:
            # A skill bug must not cost the user their turn; the LLM still answers.
            logger.exception("ballsy.assistant.skill_failed", extra={"skill": skill.name})
            continue
        if reply is not None:
            return reply
    return None
