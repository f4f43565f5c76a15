"""Reading the words of timer, reminder and list requests; speaking durations back.

Speech-to-text writes numbers either way ("twenty five minutes", "25 minutes"), so the
personal skills first normalise an utterance (lower case, no punctuation except inside
numbers, no "please"/"hey" wrappers) and, where they parse times and durations, turn
number words into digits with :mod:`.numbers` ("six thirty" → "6 30", "two and a half"
→ "2.5", "a half" → "0.5"). Lists keep the user's words verbatim ("two loaves of
bread" stays as said).
"""

from __future__ import annotations

import re
from fractions import Fraction

from .numbers import read_number_words

_WRAPPER = re.compile(
    r"^(?:(?:hey|hi|ok|okay|please|ballsy|can you|could you|would you|will you|"
    r"i want you to|i'd like you to|go ahead and|and|so|now)(?:\s*,\s*|\s+))+"
    r"|\s+(?:please|thanks|thank you|for me|now)$"
)
# "/" survives between digits ("1/2 an hour"), as "." and ":" do ("6.30", "2:30").
_PUNCTUATION = re.compile(r"(?!(?<=\d)/(?=\d))[^\w\s':.,&]|(?<!\d)[.:](?!\d)|[.:](?=\s|$)")
# How Whisper writes numbers: "1,000" (thousands separators), "1/2", "2 and a half".
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DIGIT_FRACTION = re.compile(r"\b(?:(\d+) )?(\d+)/(\d+)\b")
# After the words are read, "2 and a half" is "2 and 0.5".
_DIGITS_AND_A_PART = re.compile(r"(?<![\d.])(\d+) and (0\.5|0\.25)(?![\d.])")
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}  # fmt: skip
_TENS_ORDINAL = re.compile(r"\b(20|30) (1|2|3|4|5|6|7|8|9)(?:st|nd|rd|th)\b")

SECONDS = {
    "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600,
    "day": 86400, "week": 7 * 86400,
}  # fmt: skip
_UNIT = r"(?:weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)"
_AMOUNT = r"(?:\d+(?:\.\d+)?|an?)"
_EXTRA = r"(?:\s+and\s+(?:a\s+)?(?:0\.5|0\.25|half|quarter))?"
_PART = rf"{_AMOUNT}\s+(?:(?:of\s+)?an?\s+)?{_UNIT}{_EXTRA}"
DURATION = re.compile(rf"{_PART}(?:(?:\s+and|,)?\s+{_PART})*")
_PART_RE = re.compile(
    rf"(?P<amount>{_AMOUNT})\s+(?:(?:of\s+)?an?\s+)?(?P<unit>{_UNIT})"
    r"(?:\s+and\s+(?:a\s+)?(?P<extra>0\.5|0\.25|half|quarter))?"
)


def normalise(text: str) -> str:
    """Lower case, straight quotes, no stray punctuation, no politeness around it."""
    core = text.lower().replace("’", "'").replace("-", " ")
    core = _PUNCTUATION.sub(" ", core)
    core = " ".join(core.split()).strip(" ,.")
    previous = None
    while previous != core:
        previous = core
        core = _WRAPPER.sub("", core).strip(" ,")
    return core


def words_of(text: str) -> frozenset[str]:
    """The set of words in ``text`` (for word lists written as one string)."""
    return frozenset(text.split())


def _digits(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):g}"


def with_digits(text: str) -> str:
    """``text`` (normalised) with number words and ordinals as digits; numbers written
    as Whisper writes them ("1,000", "1/2", "2 and a half") as plain decimals too."""
    text = _DIGIT_FRACTION.sub(_fraction_digits, _THOUSANDS.sub("", text))
    words = text.replace(",", " , ").split()
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in _ORDINALS and _is_date(words, index):
            out.append(f"{_ORDINALS[word]}th")
            index += 1
            continue
        number = word != "a" or _a_is_number(words, index)
        read = read_number_words(words, index) if number else None
        if read is None:
            out.append(word)
            index += 1
            continue
        value, index = read
        out.append(_digits(value))
    joined = " ".join(out).replace(" , ", ", ")
    joined = _DIGITS_AND_A_PART.sub(_digits_and_a_part, joined)
    return _TENS_ORDINAL.sub(lambda m: f"{int(m[1]) + int(m[2])}th", joined)


def _fraction_digits(match: re.Match[str]) -> str:
    """ "1/2" → "0.5", "3 1/2" → "3.5"; "24/7" and "3/2" stay as written."""
    whole, numerator, denominator = match[1], int(match[2]), int(match[3])
    if denominator == 0 or numerator >= denominator:
        return match[0]
    return _digits(int(whole or 0) + Fraction(numerator, denominator))


def _digits_and_a_part(match: re.Match[str]) -> str:
    return _digits(Fraction(match[1]) + Fraction(match[2]))


_MONTH_WORDS = words_of(
    "january february march april may june july august september october november december"
)


def _is_date(words: list[str], index: int) -> bool:
    # "the second of May", "May second"; not "1 second".
    previous = words[index - 1] if index else ""
    following = words[index + 1] if index + 1 < len(words) else ""
    return previous == "the" or previous in _MONTH_WORDS or following == "of"


def _a_is_number(words: list[str], index: int) -> bool:
    # "a half", "a quarter", "a hundred" are numbers; "a timer" is not.
    following = words[index + 1] if index + 1 < len(words) else ""
    return following in ("half", "quarter", "hundred", "thousand")


def duration_seconds(phrase: str) -> float | None:
    """Seconds in a :data:`DURATION` match ("1 hour and 0.5", "0.5 an hour", "90 secs")."""
    total = 0.0
    for part in _PART_RE.finditer(phrase):
        amount = part["amount"]
        value = 1.0 if amount in ("a", "an") else float(amount)
        extra = part["extra"]
        if extra:
            value += 0.5 if extra in ("0.5", "half") else 0.25
        total += value * SECONDS[part["unit"].rstrip("s")]
    return total or None


def find_duration(text: str) -> tuple[float, re.Match[str]] | None:
    """The first duration in ``text`` (already :func:`with_digits`) and where it is."""
    for match in DURATION.finditer(text):
        seconds = duration_seconds(match[0])
        if seconds:
            return seconds, match
    return None


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def speak_duration(seconds: float, *, adjective: bool = False) -> str:
    """ "25 minutes", "1 hour and 30 minutes", "2 minutes and 30 seconds", "3 days"; as an
    ``adjective`` "25 minute", "1 hour 30 minute" (for "your 25 minute timer"). Under two
    days it counts hours ("36 hours")."""
    whole = max(1, round(seconds))
    days, rest = divmod(whole, 86400) if whole >= 2 * 86400 else (0, whole)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if secs and whole >= 3 * 3600:
        secs = 0  # nobody needs the seconds of a three-hour timer
    if minutes and days:
        minutes = 0  # nor the minutes of a reminder days away
    parts = [
        _plural(value, unit)
        for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second"))
        if value
    ]
    if adjective:
        return " ".join(part.removesuffix("s") for part in parts)
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def speak_items(items: list[str]) -> str:
    """ "eggs", "eggs and milk", "eggs, milk and bread"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_MINE = {
    "my": "your",
    "me": "you",
    "i": "you",
    "i'm": "you're",
    "myself": "yourself",
    "mine": "yours",
    "i've": "you've",
    "i'll": "you'll",
    "am": "are",
}


def as_said_back(phrase: str) -> str:
    """The user's words as Ballsy says them back: "call my sister" → "call your sister"."""
    return " ".join(_MINE.get(word, word) for word in phrase.split())
