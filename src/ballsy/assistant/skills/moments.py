"""When a reminder is for: "at six thirty tomorrow evening", "on Friday at noon", "in two hours".

Reads the time-of-day, day and part-of-day phrases out of an utterance (already
normalised with number words as digits, :mod:`.wording`) and resolves them against the
turn's clock, which is in the user's zone, so "tomorrow at 9" is 9 o'clock where the
user is. What is left of the utterance is the reminder's subject.

Rules a person would expect: a time without AM/PM is the next such time ("at 6" at
3 PM is 6 PM today), or by day part ("6 in the evening"); a day without a time is
9 AM (a part of day gives its own hour: morning 9, afternoon 3, evening 6, tonight 8);
a weekday is the next one (today only if the time is still ahead); a moment already
past today moves to tomorrow. "In 3 days" (or weeks) is that long from now, or that
day at the time said with it ("in 2 days at 9").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .clock import MONTH_NAMES, WEEKDAY_NAMES, speak_time
from .wording import DURATION, duration_seconds

WEEKDAYS = tuple(name.lower() for name in WEEKDAY_NAMES)
MONTHS = tuple(name.lower() for name in MONTH_NAMES)
PART_HOURS = {"morning": 9, "afternoon": 15, "evening": 18, "night": 20}
DEFAULT_HOUR = 9

_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = "|".join(MONTHS)
_RELATIVE = re.compile(rf"\bin ({DURATION.pattern})")
_DAY = re.compile(
    r"\b(?:(?P<after>the day after tomorrow)|(?P<today>today)|(?P<tonight>tonight)"
    r"|(?P<tomorrow>tomorrow)"
    rf"|(?:on )?(?P<next>next |this |coming )?(?P<weekday>{_WEEKDAY})"
    rf"|(?:on )?(?:the )?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)? of (?P<m1>{_MONTH})"
    rf"|(?:on )?(?P<m2>{_MONTH}) (?:the )?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?)\b"
)
_PART = re.compile(r"\b(?:in the |this |at )?(?P<part>morning|afternoon|evening|night)\b")
_CLOCK = re.compile(
    r"\b(?:at )?(?P<minutes>0\.5|0\.25|\d{1,2}) (?P<rel>past|after|to) (?P<hour>\d{1,2})\b"
    r"|\b(?:at )?(?P<named>noon|midday|midnight)\b"
    # "6:30", "6.30" (British, as Whisper often writes it), "6 30" (from "six thirty").
    r"|\b(?P<at>at )?(?P<h>\d{1,2})(?:[:.](?P<m>\d{2})| (?P<m2>[0-5]\d))?"
    r"(?: ?(?P<mer>am|pm|a\.m|p\.m|a m|p m|o'clock|oclock))?\b"
)


@dataclass(frozen=True, slots=True)
class _Clock:
    hour: int
    minute: int
    meridiem: str | None  # "am" | "pm" | None when not said


def _clock(text: str) -> tuple[_Clock, re.Match[str]] | None:
    for match in _CLOCK.finditer(text):
        if match["named"]:
            hour = 0 if match["named"] == "midnight" else 12
            return _Clock(hour, 0, "am" if hour == 0 else "pm"), match
        if match["rel"]:
            minutes = {"0.5": 30, "0.25": 15}.get(match["minutes"]) or int(match["minutes"])
            hour = int(match["hour"])
            if match["rel"] == "to":
                hour, minutes = (hour - 1) % 12 or 12, 60 - minutes
            if minutes < 60 and 1 <= hour <= 12:
                return _Clock(hour, minutes, None), match
            continue
        mer = (match["mer"] or "").replace(".", "").replace(" ", "")
        if not match["at"] and mer not in ("am", "pm", "o'clock", "oclock"):
            continue  # a bare number ("buy 3 apples") is not a time
        hour, minute = int(match["h"]), int(match["m"] or match["m2"] or 0)
        if hour > 23 or minute > 59 or (mer in ("am", "pm") and not 1 <= hour <= 12):
            continue
        return _Clock(hour, minute, mer if mer in ("am", "pm") else None), match
    return None


def _hour24(clock: _Clock, part: str | None) -> int | None:
    """The hour on a 24-hour clock, or None when AM/PM is still open."""
    hour = clock.hour
    if clock.meridiem == "am":
        return 0 if hour == 12 else hour
    if clock.meridiem == "pm":
        return hour if hour == 12 else hour + 12
    if hour > 12 or hour == 0:
        return hour
    if part == "morning":
        return 0 if hour == 12 else hour
    if part in ("afternoon", "evening", "night"):
        return hour if hour == 12 else hour + 12
    return None


def _day(match: re.Match[str], today: date) -> date | None:
    if match["after"]:
        return today + timedelta(days=2)
    if match["today"] or match["tonight"]:
        return today
    if match["tomorrow"]:
        return today + timedelta(days=1)
    if match["weekday"]:
        ahead = (WEEKDAYS.index(match["weekday"]) - today.weekday()) % 7
        if match["next"] == "next " and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    month = MONTHS.index(match["m1"] or match["m2"]) + 1
    day = int(match["d1"] or match["d2"])
    try:
        moment = date(today.year, month, day)
        return moment if moment >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Moment:
    """A resolved reminder time and the words that were not part of saying it."""

    at: datetime
    rest: str
    weekday_named: bool = False
    relative_s: float | None = None
    """Said as "in two hours": said back the same way."""


def _cut(text: str, match: re.Match[str]) -> str:
    return " ".join((text[: match.start()] + " " + text[match.end() :]).split())


def find_moment(text: str, now: datetime) -> Moment | None:
    """The moment ``text`` names (relative to ``now``, aware), or None if none is named."""
    relative = _RELATIVE.search(text)
    in_days: int | None = None
    if relative is not None and (seconds := duration_seconds(relative[1])):
        rest = _cut(text, relative)
        days, part_of_day = divmod(seconds, 86400)
        if not (days and not part_of_day and (_clock(rest) or _PART.search(rest))):
            return Moment(now + timedelta(seconds=seconds), rest, relative_s=seconds)
        in_days, text = int(days), rest  # "in 2 days at 9": that day, at that time
    rest = text
    day_match = _DAY.search(rest) if in_days is None else None
    day = _day(day_match, now.date()) if day_match else None
    if in_days is not None:
        day = now.date() + timedelta(days=in_days)
    if day_match is not None:
        rest = _cut(rest, day_match)
    part_match = _PART.search(rest)
    part = part_match["part"] if part_match else None
    if day_match is not None and day_match["tonight"]:
        part = "night"
    if part_match is not None:
        rest = _cut(rest, part_match)
    clock = _clock(rest)
    if clock is not None:
        rest = _cut(rest, clock[1])
    if day is None and clock is None and part is None:
        return None
    at = _resolve(now, day, clock[0] if clock else None, part)
    if at is None:
        return None
    if (
        day_match is not None
        and day_match["weekday"]
        and day_match["next"] != "this "
        and at <= now
    ):
        at += timedelta(days=7)  # "on Monday" said on a Monday after the time: next week's
    return Moment(at, rest, weekday_named=bool(day_match and day_match["weekday"]))


def _resolve(
    now: datetime, day: date | None, clock: _Clock | None, part: str | None
) -> datetime | None:
    zone = now.tzinfo
    if clock is None:
        hour, minute = PART_HOURS.get(part or "", DEFAULT_HOUR), 0
        candidates = [hour]
    else:
        hour24 = _hour24(clock, part)
        minute = clock.minute
        # Unsaid AM/PM: the next of the two; for a later day, 7-11 is morning, 12-6 not.
        candidates = (
            [hour24]
            if hour24 is not None
            else (
                [clock.hour % 12, clock.hour % 12 + 12]
                if day is None or day == now.date()
                else [clock.hour if 7 <= clock.hour <= 11 else clock.hour % 12 + 12]
            )
        )
    on = day or now.date()
    for hour in candidates:
        moment = datetime.combine(on, time(hour, minute), tzinfo=zone)
        if moment > now or day is not None:
            return moment
    moment = datetime.combine(on + timedelta(days=1), time(candidates[0], minute), tzinfo=zone)
    return moment


def speak_moment(at: datetime, now: datetime) -> str:
    """ "at 6:30 PM", "tomorrow at 9:00 AM", "on Friday at 12:00 PM", "on December 3 at …"."""
    clock = speak_time(at)
    days = (at.date() - now.date()).days
    if days == 0:
        return f"at {clock}" if at > now else f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    weekday = WEEKDAYS[at.weekday()].capitalize()
    if 1 < days < 7:
        return f"on {weekday} at {clock}"
    return f"on {weekday}, {MONTHS[at.month - 1].capitalize()} {at.day} at {clock}"
