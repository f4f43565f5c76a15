"""Numbers as Whisper writes them reach the skills: digits, "1,000", "2:30 p.m.", "6.30",
"5 %", "twenty-five", "2 and a half", "1/2" — a voice turn's transcript, not typed text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ballsy.assistant.skills import MathSkill, SkillContext
from ballsy.assistant.skills.reminders import ReminderSkill, SetReminder
from ballsy.assistant.skills.timers import SetTimer, TimerSkill
from ballsy.assistant.skills.wording import normalise, with_digits

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 15, 7, tzinfo=PARIS)  # a Monday afternoon
CONTEXT = SkillContext(now=NOW)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Set a timer for 10 minutes.", 600),
        ("Set a timer for ten minutes.", 600),
        ("Set a timer for twenty-five minutes.", 1500),
        ("Set a timer for 1.5 hours.", 5400),
        ("Set a timer for 2.5 minutes.", 150),
        ("Set a timer for 2 and a half minutes.", 150),
        ("Set a timer for 1 and a half minutes.", 90),
        ("Set a timer for 2 and a half hours.", 9000),
        ("Set a timer for five-and-a-half minutes.", 330),
        ("Set a timer for 1/2 an hour.", 1800),
        ("Set a timer for 3 1/2 minutes.", 210),
        ("Set a timer for 1,000 seconds.", 1000),
        ("Set a timer for 1,200 seconds.", 1200),
        ("Set a timer for 1 hour and 30 minutes.", 5400),
        ("Set a timer for 1 hour, 30 minutes.", 5400),
        ("Set a timer for 2 minutes and 30 seconds.", 150),
        ("Set a timer for 90 seconds.", 90),
        ("Set a timer for 15 mins.", 900),
        ("Set a timer for a quarter of an hour.", 900),
        ("Set a 5-minute timer.", 300),
        ("Start a 2.5 minute timer.", 150),
        ("Could you set a timer for 10 minutes?", 600),
        ("Set a timer for 20 seconds!", 20),
    ],
)
def test_timer_durations_as_transcribed(text: str, seconds: float) -> None:
    request = TimerSkill().parse(text, CONTEXT)
    assert isinstance(request, SetTimer)
    assert request.seconds == seconds


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "subject", "when"),
    [
        ("Remind me to call mom at 6:30 p.m.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at 6:30 PM.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at 6.30 p.m.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at 6.30pm.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at 6.30.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at six thirty.", "call mom", at(23, 18, 30)),
        ("Remind me to call mom at 18:30.", "call mom", at(23, 18, 30)),
        ("Remind me to call Anna at 14.30.", "call anna", at(24, 14, 30)),
        ("Remind me to call Anna at 2.30 p.m.", "call anna", at(24, 14, 30)),
        ("Remind me at 2:30 p.m. to call Anna.", "call anna", at(24, 14, 30)),
        ("Remind me at 7.45 to leave.", "leave", at(23, 19, 45)),
        ("Remind me at 5.00 p.m. to go.", "go", at(23, 17)),
        ("Remind me at 9 a.m. to stretch.", "stretch", at(24, 9)),
        ("Remind me at 6:30AM to run.", "run", at(24, 6, 30)),
        ("Remind me to take my pills at 8:15 a.m.", "take my pills", at(24, 8, 15)),
        ("Remind me to buy 3 apples at 6.30.", "buy 3 apples", at(23, 18, 30)),
        ("Remind me on Friday at 2.30 to call the dentist.", "call the dentist", at(27, 14, 30)),
        ("Remind me in 25 minutes to check the oven.", "check the oven", at(23, 15, 32)),
        ("Remind me in twenty-five minutes to check the oven.", "check the oven", at(23, 15, 32)),
        ("Remind me in 2 and a half hours to stretch.", "stretch", at(23, 17, 37)),
        ("Remind me to stretch in 1.5 hours.", "stretch", at(23, 16, 37)),
        ("Remind me at 10 past 6 to call Bob.", "call bob", at(23, 18, 10)),
        ("Remind me to leave at a quarter to 7.", "leave", at(23, 18, 45)),
    ],
)
def test_reminder_times_as_transcribed(text: str, subject: str, when: datetime) -> None:
    request = ReminderSkill().parse(text, CONTEXT)
    assert isinstance(request, SetReminder)
    assert (request.subject, request.at) == (subject, when)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("What is 15% of 80?", "15 percent of 80 is 12."),
        ("What is 5 % of 200?", "5 percent of 200 is 10."),
        ("What is fifteen percent of eighty?", "15 percent of 80 is 12."),
        ("What is 15 per cent of 80?", "15 percent of 80 is 12."),
        ("What is 3.5% of 1,200?", "3.5 percent of 1200 is 42."),
        ("What is 12 times 7?", "12 times 7 is 84."),
        ("What's 12 x 7?", "12 times 7 is 84."),
        ("What is 12 × 7?", "12 times 7 is 84."),
        ("What is 1,000 divided by 8?", "1000 divided by 8 is 125."),
        ("What is 1,234 plus 766?", "1234 plus 766 is 2000."),
        ("What is the square root of eighty-one?", "The square root of 81 is 9."),
        ("What is twenty-five plus seventeen?", "25 plus 17 is 42."),
        ("What is 2 and a half times 4?", "2.5 times 4 is 10."),
        ("What is -5 plus 3?", "Minus 5 plus 3 is minus 2."),
        ("What is 1.5 million plus 500,000?", "1500000 plus 500000 is 2000000."),
    ],
)
def test_math_as_transcribed(text: str, spoken: str) -> None:
    reply = MathSkill().answer(text, CONTEXT)
    assert reply is not None
    assert reply.text == spoken


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("1,000,000 people", "1000000 people"),
        ("buy 1/2 a pound of butter", "buy 0.5 a pound of butter"),
        ("open 24/7", "open 24/7"),  # not a fraction of anything
        ("3/2", "3/2"),
        ("in 1 hour and a half", "in 1 hour and 0.5"),  # the duration reader's form
        ("2 and a quarter", "2.25"),
        ("remind me at 6.30", "remind me at 6.30"),  # a time stays a time
    ],
)
def test_digits_as_whisper_writes_them(text: str, read: str) -> None:
    assert with_digits(normalise(text)) == read
