"""find_skill_reply: each utterance reaches the right skill, the rest reach the LLM."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime

import pytest

from ballsy.assistant.skills import (
    DEFAULT_SKILLS,
    SkillContext,
    SkillReply,
    find_skill_reply,
)

CONTEXT = SkillContext(now=datetime(2026, 11, 23, 15, 7, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("what is twelve times seven", "math"),
        ("square root of 144", "math"),
        ("15% of 80", "math"),
        ("what time is it", "time"),
        ("what's the date", "time"),
        ("play relaxing jazz on Spotify", "links"),
        ("directions to the nearest pharmacy", "links"),
        ("search for 2 plus 2", "links"),
        ("google the time in Tokyo", "links"),
    ],
)
def test_routes_to_the_right_skill(text: str, skill: str) -> None:
    reply = find_skill_reply(text, CONTEXT)
    assert reply is not None
    assert reply.skill == skill


@pytest.mark.parametrize(
    "text",
    ["tell me a joke", "what is love", "how are you", "I like to play chess", "", "🙂"],
)
def test_leaves_the_rest_to_the_llm(text: str) -> None:
    assert find_skill_reply(text, CONTEXT) is None


def test_default_skill_order() -> None:
    assert [skill.name for skill in DEFAULT_SKILLS] == ["math", "time", "links"]


class _Broken:
    name = "broken"

    def answer(self, text: str, context: SkillContext) -> SkillReply | None:
        raise RuntimeError("bug")


class _Echo:
    name = "echo"

    def answer(self, text: str, context: SkillContext) -> SkillReply | None:
        return SkillReply(skill=self.name, text=text, data={})


def test_first_answer_wins_and_a_broken_skill_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        reply = find_skill_reply("hi", CONTEXT, skills=(_Broken(), _Echo(), *DEFAULT_SKILLS))
    assert reply == SkillReply(skill="echo", text="hi", data={})
    assert "ballsy.assistant.skill_failed" in caplog.text


def test_no_skills_means_no_reply() -> None:
    assert find_skill_reply("12 * 7", CONTEXT, skills=()) is None


_VOCABULARY = str.split(
    "one two hundred and a half point zero thousand million plus minus times x divided by "
    "over to the power of squared cubed square root cube sqrt percent % ( ) ^ ** * / + - "
    "mod of add subtract from sum between negative 0 9 1,000 2.5 . , ? what is please √ "
    "play on spotify youtube directions near me search for time date today"
)


def test_random_word_salad_never_raises() -> None:
    # Seeded so a failure is reproducible; each skill must return a reply or None.
    rng = random.Random(20261123)
    for _ in range(3000):
        text = " ".join(rng.choice(_VOCABULARY) for _ in range(rng.randint(1, 10)))
        if rng.random() < 0.3:
            text = text.replace(" ", "")
        for skill in DEFAULT_SKILLS:
            reply = skill.answer(text, CONTEXT)
            if reply is not None:
                json.dumps(reply.data, allow_nan=False)
