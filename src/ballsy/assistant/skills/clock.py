"""The time skill: "what time is it" and "what's the date" from the turn's clock.

This module owns the time/date phrasings and how times are spoken. The time
comes from `SkillContext.now` (already in the user's zone), never from the
server clock, so replies are right for the user and tests are deterministic.
Month and day names are spelled out here rather than via strftime, which
follows the server's locale.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from .base import SkillContext, SkillReply, is_english

Asked = Literal["time", "date", "both"]

# Time questions are short; anything longer is about something else.
MAX_UTTERANCE_CHARS = 100

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_WRAPPER = re.compile(
    r"^(?:(?:hey|ok|okay|please|can you tell me|could you tell me|tell me|do you know|"
    r"excuse me|sorry)\s+)+|\s+(?:please|now|right now|at the moment)$"
)
_WHAT = r"(?:(?:what|what's|whats)\s+(?:is\s+)?)?"
# "the"/"current" is required so that "what is time" stays a question for the LLM.
_THE = r"(?:the\s+current|the|current|today's|todays)\s+"
_TIME = re.compile(rf"{_WHAT}{_THE}time(?:\s+is\s+it)?|what\s+time\s+(?:is\s+it|it\s+is)")
_DATE = re.compile(
    rf"{_WHAT}{_THE}(?:date|day)(?:\s+is\s+it)?(?:\s+today)?"
    r"|(?:what|which)\s+day\s+(?:is\s+it|it\s+is|is\s+today)(?:\s+today)?"
    r"|(?:what\s+is|what's|whats)\s+(?:the\s+date\s+)?today"
)
_BOTH = re.compile(rf"{_WHAT}(?:{_THE})?(?:date\s+and\s+time|time\s+and\s+date)")


def _normalise(text: str) -> str:
    core = " ".join(text.lower().replace("’", "'").split()).strip(" ?!.,")
    previous = None
    while previous != core:  # wrappers can stack: "hey, can you tell me ... please"
        previous = core
        core = _WRAPPER.sub("", core.replace(",", "")).strip()
    return core


def asked_for(text: str) -> Asked | None:
    """Which of time/date the utterance asks for, if it is only such a question."""
    core = _normalise(text)
    if _BOTH.fullmatch(core):
        return "both"
    if _TIME.fullmatch(core):
        return "time"
    if _DATE.fullmatch(core):
        return "date"
    return None


def speak_time(moment: datetime) -> str:
    """ "3:07 PM", "12:00 AM" for midnight."""
    hour = moment.hour % 12 or 12
    meridiem = "AM" if moment.hour < 12 else "PM"
    return f"{hour}:{moment.minute:02d} {meridiem}"


def speak_date(moment: datetime) -> str:
    """ "Monday, November 23, 2026"."""
    weekday = WEEKDAY_NAMES[moment.weekday()]
    return f"{weekday}, {MONTH_NAMES[moment.month - 1]} {moment.day}, {moment.year}"


class ClockSkill:
    """Current time and date in the user's time zone."""

    name = "time"

    def answer(self, text: str, context: SkillContext) -> SkillReply | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        asked = asked_for(text)
        if asked is None:
            return None
        now = context.now
        if asked == "time":
            reply = f"It's {speak_time(now)}."
        elif asked == "date":
            reply = f"Today is {speak_date(now)}."
        else:
            reply = f"It's {speak_time(now)} on {speak_date(now)}."
        return SkillReply(
            skill=self.name,
            text=reply,
            data={"iso": now.isoformat(), "timezone": str(now.tzinfo), "asked": asked},
        )
