"""Reading number words and writing numbers for speech."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ballsy.assistant.skills.numbers import (
    format_number,
    read_number_words,
    speak_number,
    to_plain,
)


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("zero", 0),
        ("seven", 7),
        ("twelve", 12),
        ("twenty", 20),
        ("twenty one", 21),
        ("ninety nine", 99),
        ("one hundred", 100),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("one hundred five", 105),
        ("three hundred twenty one", 321),
        ("twelve hundred", 1200),
        ("a thousand", 1000),
        ("three thousand four hundred", 3400),
        ("two thousand and twenty six", 2026),
        ("five hundred thousand", 500_000),
        ("a million", 1_000_000),
        ("one million two hundred thousand and one", 1_200_001),
        ("seven billion", 7_000_000_000),
        ("two trillion", 2_000_000_000_000),
        ("two point five", Fraction(5, 2)),
        ("three point one four", Fraction(314, 100)),
        ("zero point zero five", Fraction(5, 100)),
        ("point five", Fraction(1, 2)),
        ("half", Fraction(1, 2)),
        ("a half", Fraction(1, 2)),
        ("a quarter", Fraction(1, 4)),
        ("one and a half", Fraction(3, 2)),
        ("ten and a quarter", Fraction(41, 4)),
    ],
)
def test_reads_whole_phrase(phrase: str, value: Fraction) -> None:
    words = phrase.split()
    assert read_number_words(words, 0) == (value, len(words))


@pytest.mark.parametrize(
    ("phrase", "value", "stop"),
    [
        ("five six", 5, 1),  # two numbers, not 56 or 11
        ("twenty twenty", 20, 1),
        ("twelve three", 12, 1),
        ("three and four", 3, 1),  # "and" joins numbers only after hundred/scale words
        ("one hundred and", 100, 2),
        ("a thousand million", 1000, 2),
        ("zero five", 0, 1),
        ("two point", 2, 1),
        ("seven times", 7, 1),
    ],
)
def test_stops_where_the_number_ends(phrase: str, value: int, stop: int) -> None:
    assert read_number_words(phrase.split(), 0) == (Fraction(value), stop)


@pytest.mark.parametrize("phrase", ["hundred", "and five", "a", "a dog", "point", "times two", ""])
def test_no_number_here(phrase: str) -> None:
    assert read_number_words(phrase.split(), 0) is None


def test_reads_from_the_middle() -> None:
    words = ["add", "twenty", "one", "and", "four"]
    assert read_number_words(words, 1) == (Fraction(21), 3)
    assert read_number_words(words, 4) == (Fraction(4), 5)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (Fraction(84), 84),
        (Fraction(7, 2), 3.5),
        (Fraction(1, 3), 0.333333),
        (Fraction(-10, 3), -3.333333),
        (2.0000000000000004, 2),
        (1.4142135623730951, 1.414214),
        (0.000123456789, 0.000123457),
        (0.0, 0),
        (1e20, 1e20),
    ],
)
def test_to_plain(value: Fraction | float, plain: float) -> None:
    result = to_plain(value)
    assert result == plain
    assert type(result) is type(plain)


@pytest.mark.parametrize(
    ("value", "symbolic", "spoken"),
    [
        (84, "84", "84"),
        (-5, "-5", "minus 5"),
        (3.5, "3.5", "3.5"),
        (-0.25, "-0.25", "minus 0.25"),
        (1.5e20, "1.5e+20", "1.5 times 10 to the power of 20"),
        (2.5e-7, "2.5e-07", "2.5 times 10 to the power of minus 7"),
        (10**15, "1000000000000000", "1000000000000000"),
        (10**16, "10000000000000000", "about 1 times 10 to the power of 16"),
    ],
)
def test_format_and_speak(value: int | float, symbolic: str, spoken: str) -> None:
    assert format_number(value) == symbolic
    assert speak_number(value) == spoken
