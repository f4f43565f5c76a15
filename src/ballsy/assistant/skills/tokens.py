"""Turning a spoken or typed math utterance into tokens.

This module owns the vocabulary of the math skill: which symbols and English
phrases mean which operator ("multiplied by", "×", "x" are all TIMES), and how
numbers are recognised (digits with thousands separators, or number words via
`numbers.read_number_words`). Anything it does not recognise makes the whole
utterance "not math", so the caller can hand it to the LLM.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .numbers import DIGIT_MULTIPLIERS, FRACTION_WORDS, read_number_words


class TokenKind(enum.Enum):
    NUMBER = "number"
    PLUS = "+"
    MINUS = "-"
    TIMES = "*"
    DIVIDE = "/"
    POWER = "^"
    MOD = "mod"
    PERCENT = "%"
    OF = "of"
    SQUARED = "squared"
    CUBED = "cubed"
    SQRT = "sqrt"
    CBRT = "cbrt"
    LPAREN = "("
    RPAREN = ")"
    NEGATIVE = "negative"  # only ever a prefix, unlike MINUS
    # Words of the "add 3 and 4" / "subtract 3 from 10" command forms.
    ADD = "add"
    SUBTRACT = "subtract"
    MULTIPLY = "multiply"
    DIVIDE_VERB = "divide"
    SUM_OF = "sum of"
    PRODUCT_OF = "product of"
    DIFFERENCE_OF = "difference between"
    AND = "and"
    FROM = "from"
    BY = "by"
    TO = "to"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    value: Fraction = Fraction(0)  # only meaningful for NUMBER


_K = TokenKind

SYMBOLS: dict[str, TokenKind] = {
    "+": _K.PLUS,
    "-": _K.MINUS,
    "*": _K.TIMES,
    "/": _K.DIVIDE,
    "^": _K.POWER,
    "**": _K.POWER,
    "%": _K.PERCENT,
    "(": _K.LPAREN,
    ")": _K.RPAREN,
    "√": _K.SQRT,
    "∛": _K.CBRT,
}

# Phrases are matched longest first, so "to the power of" wins over "to".
PHRASES: dict[tuple[str, ...], TokenKind] = {
    tuple(phrase.split()): kind
    for phrase, kind in {
        "plus": _K.PLUS,
        "minus": _K.MINUS,
        "take away": _K.MINUS,
        "less": _K.MINUS,
        "times": _K.TIMES,
        "x": _K.TIMES,
        "multiplied by": _K.TIMES,
        "divided by": _K.DIVIDE,
        "over": _K.DIVIDE,
        "to the power of": _K.POWER,
        "raised to the power of": _K.POWER,
        "raised to the": _K.POWER,
        "raised to": _K.POWER,
        "to the": _K.POWER,
        "power": _K.POWER,
        "mod": _K.MOD,
        "modulo": _K.MOD,
        "modulus": _K.MOD,
        "percent": _K.PERCENT,
        "per cent": _K.PERCENT,
        "of": _K.OF,
        "squared": _K.SQUARED,
        "cubed": _K.CUBED,
        "sqrt": _K.SQRT,
        "square root of": _K.SQRT,
        "the square root of": _K.SQRT,
        "square root": _K.SQRT,
        "root of": _K.SQRT,
        "cbrt": _K.CBRT,
        "cube root of": _K.CBRT,
        "the cube root of": _K.CBRT,
        "cube root": _K.CBRT,
        "negative": _K.NEGATIVE,
        "add": _K.ADD,
        "subtract": _K.SUBTRACT,
        "multiply": _K.MULTIPLY,
        "divide": _K.DIVIDE_VERB,
        "sum of": _K.SUM_OF,
        "the sum of": _K.SUM_OF,
        "product of": _K.PRODUCT_OF,
        "the product of": _K.PRODUCT_OF,
        "difference between": _K.DIFFERENCE_OF,
        "the difference between": _K.DIFFERENCE_OF,
        "and": _K.AND,
        "from": _K.FROM,
        "by": _K.BY,
        "to": _K.TO,
    }.items()
}
_LONGEST_PHRASE = max(len(phrase) for phrase in PHRASES)

_LEXEME = re.compile(
    r"""
    (?P<space>\s+|,)                                    # stray commas are spoken pauses
    | (?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    | (?P<word>[a-z]+(?:-[a-z]+)*)                      # "twenty-one" is one lexeme
    | (?P<symbol>\*\*|[-+*/^%()√∛])
    """,
    re.VERBOSE,
)

# Typographic variants that speech-to-text and phone keyboards produce.
_NORMALISE = str.maketrans({"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "÷": "/"})


class NotMath(Exception):
    """The text is not (entirely) a math expression."""


def _lexemes(text: str) -> list[tuple[str, str]]:
    """Split into ("number" | "word" | "symbol", text) pairs, or raise NotMath."""
    text = text.lower().translate(_NORMALISE)
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _LEXEME.match(text, position)
        if match is None:
            raise NotMath(f"unexpected character {text[position]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind == "word":
            found.extend(("word", word) for word in match.group().split("-"))
        elif kind in ("number", "symbol"):
            found.append((kind, match.group()))
    return found


def _digits_value(literal: str, words: Sequence[str], index: int) -> tuple[Fraction, int]:
    """Read "2.5" plus an optional "hundred" and scale word ("2.5 million") or "and a
    half" ("2 and a half", as speech-to-text writes "two and a half")."""
    value = Fraction(literal.replace(",", ""))
    part = tuple(words[index : index + 3])
    if part in (("and", "a", "half"), ("and", "a", "quarter")):
        return value + FRACTION_WORDS[part[2]], index + 3
    if index < len(words) and words[index] == "hundred":
        value *= 100
        index += 1
    if index < len(words) and words[index] in DIGIT_MULTIPLIERS and words[index] != "hundred":
        value *= DIGIT_MULTIPLIERS[words[index]]
        index += 1
    return value, index


def _match_phrase(words: Sequence[str], index: int) -> tuple[TokenKind, int] | None:
    for length in range(min(_LONGEST_PHRASE, len(words) - index), 0, -1):
        kind = PHRASES.get(tuple(words[index : index + length]))
        if kind is not None:
            return kind, index + length
    return None


def tokenize(text: str) -> list[Token]:
    """Tokenize a whole utterance; raises NotMath on any unknown word or character."""
    lexemes = _lexemes(text)
    # Words and symbols share one index space so phrases and numbers can look ahead.
    words = [lexeme for _, lexeme in lexemes]
    tokens: list[Token] = []
    index = 0
    while index < len(lexemes):
        kind, lexeme = lexemes[index]
        if kind == "symbol":
            tokens.append(Token(SYMBOLS[lexeme]))
            index += 1
            continue
        if kind == "number":
            value, index = _digits_value(lexeme, words, index + 1)
            tokens.append(Token(_K.NUMBER, value))
            continue
        # Number words first: "and" inside "one hundred and five" belongs to the number.
        number = read_number_words(words, index)
        if number is not None:
            tokens.append(Token(_K.NUMBER, number[0]))
            index = number[1]
            continue
        phrase = _match_phrase(words, index)
        if phrase is None:
            raise NotMath(f"unknown word {lexeme!r}")
        tokens.append(Token(phrase[0]))
        index = phrase[1]
    return tokens
