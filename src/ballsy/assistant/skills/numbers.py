"""Reading English number words and writing numbers back for speech.

Speech-to-text often spells numbers out ("one hundred and five", "two point
five", "a million"), so the math skill reads them here. Values are exact
`Fraction`s so that "two point one" stays 2.1 rather than a binary float.

Writing goes the other way: results become plain JSON numbers (int or float,
rounded to six decimals or six significant digits) and short spoken strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
FRACTION_WORDS = {"half": Fraction(1, 2), "quarter": Fraction(1, 4)}

# Words that may continue a number after digits: "2.5 million", "3 hundred".
DIGIT_MULTIPLIERS = {"hundred": 100, **SCALES}

_Kind = Literal["unit", "teen", "tens", "hundred", "scale", "and"]


def _kind_of(word: str) -> _Kind | None:
    if word in UNITS and word != "zero":
        return "unit"
    if word in TEENS:
        return "teen"
    if word in TENS:
        return "tens"
    if word == "hundred":
        return "hundred"
    if word in SCALES:
        return "scale"
    if word == "and":
        return "and"
    return None


def _may_follow(previous: _Kind | None, kind: _Kind, group: int) -> bool:
    """Whether `kind` can extend a number whose last word was `previous`.

    These rules are what keeps "five six" or "twenty twenty" from silently
    merging into one number; the reader stops and the parser sees two numbers.
    """
    starts_group = previous in (None, "hundred", "scale", "and")
    if kind == "unit":
        return starts_group or previous == "tens"
    if kind in ("teen", "tens"):
        return starts_group
    if kind == "hundred":
        return previous in ("unit", "teen", "tens") and 0 < group < 100
    return kind == "scale" and group > 0 and previous != "and"


class _WholeNumberReader:
    """Accumulates "three thousand four hundred and five" word by word."""

    def __init__(self, words: Sequence[str], start: int) -> None:
        self.words = words
        self.index = start
        self.total = 0
        self.group = 0  # the part below the last scale word, e.g. 405
        self.previous: _Kind | None = None
        self.last_scale = 10**18

    def _peek(self, offset: int = 0) -> str:
        position = self.index + offset
        return self.words[position] if position < len(self.words) else ""

    def read(self) -> int | None:
        if self._peek() == "a" and self._peek(1) in DIGIT_MULTIPLIERS:
            self.group, self.previous = 1, "unit"  # "a hundred", "a million"
            self.index += 1
        while (kind := _kind_of(self._peek())) is not None:
            if kind == "and" and not self._and_continues_number():
                break
            if not (kind == "and" or _may_follow(self.previous, kind, self.group)):
                break
            if not self._apply(kind, self._peek()):
                break
            self.previous = kind
            self.index += 1
        if self.previous is None:
            return None
        return self.total + self.group

    def _and_continues_number(self) -> bool:
        # "one hundred and five" is one number; "add 3 and 4" is two.
        following = _kind_of(self._peek(1))
        return self.previous in ("hundred", "scale") and following in ("unit", "teen", "tens")

    def _apply(self, kind: _Kind, word: str) -> bool:
        if kind == "unit":
            self.group += UNITS[word]
        elif kind == "teen":
            self.group += TEENS[word]
        elif kind == "tens":
            self.group += TENS[word]
        elif kind == "hundred":
            self.group *= 100
        elif kind == "scale":
            scale = SCALES[word]
            if scale >= self.last_scale:
                return False  # "a thousand million" style stacking is not supported
            self.total += self.group * scale
            self.group, self.last_scale = 0, scale
        return True


def _read_decimals(words: Sequence[str], index: int) -> tuple[Fraction, int] | None:
    """Read "point one four" as digits after a decimal point."""
    if index >= len(words) or words[index] != "point":
        return None
    digits = ""
    index += 1
    while index < len(words) and words[index] in UNITS:
        digits += str(UNITS[words[index]])
        index += 1
    if not digits:
        return None
    return Fraction(int(digits), 10 ** len(digits)), index


def read_number_words(words: Sequence[str], start: int) -> tuple[Fraction, int] | None:
    """Read the longest number phrase at `words[start:]`.

    Returns the value and the index just after the phrase, or None when no
    number starts there. Supports "zero".."trillion", "and" inside numbers,
    "a hundred", "point" decimals, "and a half", and "half"/"a quarter" alone.
    """
    first = words[start] if start < len(words) else ""
    if first == "a" and start + 1 < len(words) and words[start + 1] in FRACTION_WORDS:
        return FRACTION_WORDS[words[start + 1]], start + 2
    if first in FRACTION_WORDS:
        return FRACTION_WORDS[first], start + 1

    index = start
    value = Fraction(0)
    if first == "zero":
        index += 1
    elif first != "point":
        reader = _WholeNumberReader(words, start)
        whole = reader.read()
        if whole is None:
            return None
        value, index = Fraction(whole), reader.index

    decimals = _read_decimals(words, index)
    if decimals is not None:
        return value + decimals[0], decimals[1]
    if index == start:
        return None
    if tuple(words[index : index + 3]) in (("and", "a", "half"), ("and", "a", "quarter")):
        return value + FRACTION_WORDS[words[index + 2]], index + 3
    return value, index


# -- writing numbers ---------------------------------------------------------

PlainNumber = int | float


def to_plain(value: Fraction | float) -> PlainNumber:
    """Turn an exact or float result into the JSON number we report and speak.

    Floats are rounded to six decimals (or six significant digits below 1) so
    that 0.1 + 0.2 style noise and sqrt(2)**2 = 2.0000000000000004 disappear.
    """
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return value.numerator
        value = float(value)
    if value == 0:
        return 0
    rounded = round(value, 6) if abs(value) >= 1 else float(f"{value:.6g}")
    if rounded.is_integer() and abs(rounded) < 2**53:
        return int(rounded)
    return rounded


SPOKEN_DIGITS = 16  # integers this long are spoken in scientific form


def _uses_exponent(value: float) -> bool:
    return abs(value) >= 1e15 or 0 < abs(value) < 1e-4


def format_number(value: PlainNumber) -> str:
    """Symbolic form for the data payload: "84", "3.5", "1.23457e+20"."""
    if isinstance(value, int):
        return str(value)
    if _uses_exponent(value):
        return f"{value:.6g}"
    return repr(value)


def speak_number(value: PlainNumber) -> str:
    """Spoken form: "84", "minus 5", "1.5 times 10 to the power of 20"."""
    if value < 0:
        return "minus " + speak_number(-value)
    if isinstance(value, int) and value >= 10**SPOKEN_DIGITS:
        # Nobody wants 300 digits read aloud; the exact value stays in the data.
        return "about " + _speak_exponent(f"{Decimal(value):.5e}")
    if isinstance(value, float) and _uses_exponent(value):
        return _speak_exponent(f"{value:.6g}")
    return format_number(value)


def _speak_exponent(scientific: str) -> str:
    mantissa, exponent = scientific.split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    spoken_power = f"minus {-power}" if power < 0 else str(power)
    return f"{mantissa} times 10 to the power of {spoken_power}"
