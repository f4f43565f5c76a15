"""The timers, reminders and lists parsers: many phrasings, no database (fast)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ballsy.assistant.skills import PERSONAL_SKILLS, SkillContext, find_personal_request
from ballsy.assistant.skills.lists import AddItems, ClearList, ListSkill, ReadList, RemoveItems
from ballsy.assistant.skills.reminders import (
    CancelReminder,
    ListReminders,
    ReminderSkill,
    SetReminder,
)
from ballsy.assistant.skills.timers import CancelTimer, ListTimers, SetTimer, TimeLeft, TimerSkill
from ballsy.assistant.skills.wording import speak_duration

PARIS = ZoneInfo("Europe/Paris")
# A Monday afternoon in the user's zone.
NOW = datetime(2026, 11, 23, 15, 7, tzinfo=PARIS)
CONTEXT = SkillContext(now=NOW)


@pytest.mark.parametrize(
    ("text", "seconds", "label"),
    [
        ("set a timer for twenty five minutes", 1500, ""),
        ("Set a timer for 25 minutes.", 1500, ""),
        ("a timer for pasta for ten minutes", 600, "pasta"),
        ("set a pasta timer for 10 minutes", 600, "pasta"),
        ("timer 90 seconds", 90, ""),
        ("set a timer for 1 second", 1, ""),
        ("timer for thirty seconds", 30, ""),
        ("set a timer for an hour and a half", 5400, ""),
        ("start a two and a half minute timer", 150, ""),
        ("timer for half an hour", 1800, ""),
        ("set a timer for 1 hour 30 minutes", 5400, ""),
        ("please set an egg timer for five minutes", 300, "egg"),
        ("set a timer for a minute and a half for the tea", 90, "tea"),
        ("set a timer for forty-five seconds", 45, ""),
        ("set a timer for two hours and fifteen minutes", 8100, ""),
        ("set a timer for 2 hours 15 minutes", 8100, ""),
        ("set a timer for twelve minutes and thirty seconds", 750, ""),
        ("set a timer for one hundred and twenty seconds", 120, ""),
        ("set a timer for 1.5 hours", 5400, ""),
        # A wake word with a comma after it was once the timer's name ("ballsy,").
        ("hey ballsy, can you set a timer for five mins", 300, ""),
        ("Ballsy, set a timer for 5 minutes, please", 300, ""),
        ("timer 10 min", 600, ""),
        ("set a ten minute timer for pasta", 600, "pasta"),
        ("start a timer for pasta for 10 minutes", 600, "pasta"),
        ("set a timer called pasta for ten minutes", 600, "pasta"),
        ("set a timer for twenty minutes for the laundry", 1200, "laundry"),
        ("set a 20 minute laundry timer", 1200, "laundry"),
    ],
)
def test_timer_durations_and_names(text: str, seconds: float, label: str) -> None:
    assert TimerSkill().parse(text, CONTEXT) == SetTimer(seconds, label)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancel the pasta timer", CancelTimer("pasta", every=False)),
        ("cancel my timer", CancelTimer("", every=False)),
        ("stop all timers", CancelTimer("", every=True)),
        ("how much time is left", TimeLeft("")),
        ("how much time is left on the pasta timer?", TimeLeft("pasta")),
        ("how long is left on my timer", TimeLeft("")),
        ("what timers do I have", ListTimers()),
        ("list my timers", ListTimers()),
        ("cancel all my timers", CancelTimer("", every=True)),
        ("cancel the 10 minute timer", CancelTimer("10 minute", every=False)),
        ("how much time is left on my timer", TimeLeft("")),
        ("how much longer on the pasta timer", TimeLeft("pasta")),
        ("how much time do I have left", TimeLeft("")),
        # Once read as a timer named "until goes", "remains", "what's" or "'s", or a list.
        ("how long until my timer goes off", TimeLeft("")),
        ("how much time remains on my timer", TimeLeft("")),
        ("what's the time left on my timer", TimeLeft("")),
        ("what's left on the pasta timer", TimeLeft("pasta")),
        ("how much time's left", TimeLeft("")),
    ],
)
def test_timer_questions_and_cancels(text: str, expected: object) -> None:
    assert TimerSkill().parse(text, CONTEXT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "how do I set a timer on my phone for ten minutes",
        "how long is a marathon",
        "how long until christmas",
        "what's left",
        "timer",
    ],
)
def test_not_timer_requests(text: str) -> None:
    assert TimerSkill().parse(text, CONTEXT) is None


@pytest.mark.parametrize(
    ("text", "subject", "at"),
    [
        (
            "remind me to call my sister at six thirty tomorrow evening",
            "call my sister",
            datetime(2026, 11, 24, 18, 30, tzinfo=PARIS),
        ),
        (
            "Remind me on Friday at noon to water the plants",
            "water the plants",
            datetime(2026, 11, 27, 12, 0, tzinfo=PARIS),
        ),
        (
            "remind me in two hours to check the oven",
            "check the oven",
            datetime(2026, 11, 23, 17, 7, tzinfo=PARIS),
        ),
        (
            "remind me to take the bins out tomorrow morning",
            "take the bins out",
            datetime(2026, 11, 24, 9, 0, tzinfo=PARIS),
        ),
        (
            "remind me to water the plants at 6",
            "water the plants",
            datetime(2026, 11, 23, 18, 0, tzinfo=PARIS),
        ),
        (
            "remind me to call mum on the second of december",
            "call mum",
            datetime(2026, 12, 2, 9, 0, tzinfo=PARIS),
        ),
        ("remind me at 9 am to stretch", "stretch", datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)),
        (
            "set a reminder to pay rent on the first of december",
            "pay rent",
            datetime(2026, 12, 1, 9, 0, tzinfo=PARIS),
        ),
        (
            "remind me to call bob at half past seven tonight",
            "call bob",
            datetime(2026, 11, 23, 19, 30, tzinfo=PARIS),
        ),
        (
            "remind me to leave at a quarter to seven",
            "leave",
            datetime(2026, 11, 23, 18, 45, tzinfo=PARIS),
        ),
        (
            "remind me to pick up the kids at 3:30 pm on wednesday",
            "pick up the kids",
            datetime(2026, 11, 25, 15, 30, tzinfo=PARIS),
        ),
        (
            "remind me tomorrow evening at six thirty to call my sister",
            "call my sister",
            datetime(2026, 11, 24, 18, 30, tzinfo=PARIS),
        ),
        (
            "remind me to call my sister tomorrow evening at half past six",
            "call my sister",
            datetime(2026, 11, 24, 18, 30, tzinfo=PARIS),
        ),
        (
            "remind me to water the plants on Friday at noon",
            "water the plants",
            datetime(2026, 11, 27, 12, 0, tzinfo=PARIS),
        ),
        (
            "remind me at noon on friday to water the plants",
            "water the plants",
            datetime(2026, 11, 27, 12, 0, tzinfo=PARIS),
        ),
        (
            "remind me to check the oven in two hours",
            "check the oven",
            datetime(2026, 11, 23, 17, 7, tzinfo=PARIS),
        ),
        (
            "remind me in an hour and a half to stretch",
            "stretch",
            datetime(2026, 11, 23, 16, 37, tzinfo=PARIS),
        ),
        (
            "remind me in twenty minutes to take out the laundry",
            "take out the laundry",
            datetime(2026, 11, 23, 15, 27, tzinfo=PARIS),
        ),
        (
            "remind me next monday at nine to call the dentist",
            "call the dentist",
            datetime(2026, 11, 30, 9, 0, tzinfo=PARIS),
        ),
        (
            "remind me about the dentist tomorrow at 10",
            "the dentist",
            datetime(2026, 11, 24, 10, 0, tzinfo=PARIS),
        ),
        (
            "set a reminder for tomorrow at 9 to pay the bills",
            "pay the bills",
            datetime(2026, 11, 24, 9, 0, tzinfo=PARIS),
        ),
        # On a Monday afternoon, "on Monday" (no time: 9 AM) is next Monday, not the
        # past morning (which was refused as "That time has already passed.").
        ("remind me on monday to call mum", "call mum", datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)),
        (
            "remind me on monday at 6 pm to call mum",
            "call mum",
            datetime(2026, 11, 23, 18, 0, tzinfo=PARIS),
        ),
        # Days and weeks (once not read at all: "When should I remind you to in 3 days …?").
        (
            "remind me in 3 days to call mum",
            "call mum",
            datetime(2026, 11, 26, 15, 7, tzinfo=PARIS),
        ),
        (
            "remind me in a week to renew the insurance",
            "renew the insurance",
            datetime(2026, 11, 30, 15, 7, tzinfo=PARIS),
        ),
        (
            "remind me in two days at nine to call mum",
            "call mum",
            datetime(2026, 11, 25, 9, 0, tzinfo=PARIS),
        ),
    ],
)
def test_reminder_moments_in_the_users_zone(text: str, subject: str, at: datetime) -> None:
    request = ReminderSkill().parse(text, CONTEXT)
    assert isinstance(request, SetReminder)
    assert (request.subject, request.at) == (subject, at)


def test_reminder_questions() -> None:
    skill = ReminderSkill()
    assert skill.parse("what are my reminders", CONTEXT) == ListReminders()
    assert skill.parse("cancel all reminders", CONTEXT) == CancelReminder("", every=True)
    cancel = skill.parse("cancel my reminder to call my sister", CONTEXT)
    assert cancel == CancelReminder("call sister", every=False)
    unset = skill.parse("remind me to stretch", CONTEXT)
    assert isinstance(unset, SetReminder) and unset.at is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "add eggs, milk and two loaves of bread to my shopping list",
            AddItems("shopping", ("eggs", "milk", "two loaves of bread")),
        ),
        ("Add sunscreen to the packing list.", AddItems("packing", ("sunscreen",))),
        ("put some apples & pears on my grocery list", AddItems("shopping", ("apples", "pears"))),
        ("add milk to my list", AddItems(None, ("milk",))),
        ("add call mom to my to-do list", AddItems("to do", ("call mom",))),
        ("what's on my shopping list", ReadList("shopping")),
        ("What is on the packing list?", ReadList("packing")),
        ("read back my list", ReadList(None)),
        ("take eggs and milk off the shopping list", RemoveItems("shopping", ("eggs", "milk"))),
        ("remove milk from my shopping list", RemoveItems("shopping", ("milk",))),
        ("clear my shopping list", ClearList("shopping")),
        ("empty the packing list", ClearList("packing")),
        (
            "add passport and charger to my packing list",
            AddItems("packing", ("passport", "charger")),
        ),
        (
            "add sunscreen, a hat and sandals to the packing list",
            AddItems("packing", ("sunscreen", "hat", "sandals")),
        ),
        ("put bananas on my shopping list", AddItems("shopping", ("bananas",))),
        ("add tomatoes and 2 onions to my list", AddItems(None, ("tomatoes", "2 onions"))),
        ("add all purpose flour to my shopping list", AddItems("shopping", ("all purpose flour",))),
        ("cross eggs off my shopping list", RemoveItems("shopping", ("eggs",))),
        ("remove all the eggs from my shopping list", RemoveItems("shopping", ("eggs",))),
        ("read me my shopping list", ReadList("shopping")),
        ("read my shopping list back", ReadList("shopping")),
        ("what do I have on my shopping list", ReadList("shopping")),
        ("what's on the to-do list", ReadList("to do")),
        ("what's on my list", ReadList(None)),
        (
            "OK, add eggs, milk and bread to my shopping list",
            AddItems("shopping", ("eggs", "milk", "bread")),
        ),
        ("clear out my shopping list", ClearList("shopping")),
        # Once removed an item called "everything" / "all items".
        ("delete everything from my shopping list", ClearList("shopping")),
        ("remove all the items from the packing list", ClearList("packing")),
        ("take everything off my shopping list", ClearList("shopping")),
    ],
)
def test_list_phrasings(text: str, expected: object) -> None:
    assert ListSkill().parse(text, CONTEXT) == expected


@pytest.mark.parametrize(
    "text", ["tell me a joke", "what is a list", "make a list of ideas for dinner", ""]
)
def test_the_rest_is_for_the_llm(text: str) -> None:
    assert find_personal_request(text, CONTEXT, PERSONAL_SKILLS) is None


def test_spoken_durations() -> None:
    assert speak_duration(1500) == "25 minutes"
    assert speak_duration(5400) == "1 hour and 30 minutes"
    assert speak_duration(150, adjective=True) == "2 minute 30 second"
    assert speak_duration(1) == "1 second"
    assert speak_duration(36 * 3600) == "36 hours"
    assert speak_duration(3 * 86400) == "3 days"
    assert speak_duration(2 * 86400 + 3 * 3600 + 125) == "2 days and 3 hours"
