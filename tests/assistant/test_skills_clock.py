"""The time skill, against a fixed clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ballsy.assistant.skills import SkillContext
from ballsy.assistant.skills.clock import ClockSkill, speak_date, speak_time

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 15, 7, 30, tzinfo=BERLIN)
CONTEXT = SkillContext(now=NOW)
SKILL = ClockSkill()


@pytest.mark.parametrize(
    "text",
    [
        "what time is it",
        "What time is it?",
        "what time is it now",
        "what time is it right now",
        "what's the time",
        "what’s the time?",
        "whats the time",
        "what is the time",
        "what is the current time",
        "tell me the time",
        "tell me the time please",
        "can you tell me the time",
        "current time",
        "the time",
        "do you know what time it is",
        "hey, what time is it?",
    ],
)
def test_time(text: str) -> None:
    reply = SKILL.answer(text, CONTEXT)
    assert reply is not None, text
    assert reply.skill == "time"
    assert reply.text == "It's 3:07 PM."
    assert reply.data == {
        "iso": "2026-11-23T15:07:30+01:00",
        "timezone": "Europe/Berlin",
        "asked": "time",
    }


@pytest.mark.parametrize(
    "text",
    [
        "what's the date",
        "what is the date",
        "what's the date today",
        "what is today's date",
        "what's today's date?",
        "today's date",
        "todays date",
        "what day is it",
        "what day is it today",
        "which day is it",
        "what is today",
        "what's today",
        "tell me the date",
        "current date",
    ],
)
def test_date(text: str) -> None:
    reply = SKILL.answer(text, CONTEXT)
    assert reply is not None, text
    assert reply.text == "Today is Monday, November 23, 2026."
    assert reply.data["asked"] == "date"


@pytest.mark.parametrize("text", ["what's the date and time", "time and date please"])
def test_date_and_time(text: str) -> None:
    reply = SKILL.answer(text, CONTEXT)
    assert reply is not None
    assert reply.text == "It's 3:07 PM on Monday, November 23, 2026."


@pytest.mark.parametrize(
    "text",
    [
        "what is time",
        "what time is it in Tokyo",
        "what time does the store close",
        "set a timer",
        "what day is Christmas",
        "is today a holiday",
        "time flies",
        "tell me a joke",
        "",
    ],
)
def test_not_time(text: str) -> None:
    assert SKILL.answer(text, CONTEXT) is None


@pytest.mark.parametrize(
    ("hour", "minute", "spoken"),
    [(0, 0, "12:00 AM"), (0, 5, "12:05 AM"), (9, 30, "9:30 AM"), (12, 0, "12:00 PM"),
     (13, 1, "1:01 PM"), (23, 59, "11:59 PM")],
)  # fmt: skip
def test_speak_time(hour: int, minute: int, spoken: str) -> None:
    assert speak_time(NOW.replace(hour=hour, minute=minute)) == spoken


def test_speak_date_spells_out_names() -> None:
    assert speak_date(datetime(2024, 2, 29, tzinfo=BERLIN)) == "Thursday, February 29, 2024"


def test_uses_the_context_zone_not_the_server_clock() -> None:
    tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    reply = SKILL.answer("what time is it", SkillContext(now=tokyo))
    assert reply is not None
    assert reply.text == "It's 11:07 PM."
    assert reply.data["timezone"] == "Asia/Tokyo"
