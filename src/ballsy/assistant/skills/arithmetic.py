"""The math skill: answers "what is twelve times seven" without an LLM.

This module owns the conversation around a calculation: peeling off question
wrappers ("what's", "can you tell me", "please", "?", "equals"), deciding that
what remains is entirely math, and phrasing the answer ("12 times 7 is 84.").
Tokenizing, parsing and evaluating live in `tokens`, `expression` and
`evaluation`; nothing is ever passed to eval/exec.

Only utterances that are wholly an expression with at least one operation are
answered, so "what is love" and "what is 5" fall through to the LLM.
"""

from __future__ import annotations

import re

from .base import SkillContext, SkillReply, is_english
from .evaluation import ErrorCode, MathError, evaluate
from .expression import has_operation, parse, render_spoken, render_symbolic
from .numbers import speak_number, to_plain
from .tokens import NotMath, tokenize

# Real questions are short; the cap bounds tokenizing and parsing time for any input.
MAX_UTTERANCE_CHARS = 300

_PREFIX = re.compile(
    r"""^(?:
        please | can\ you | could\ you | would\ you | will\ you | tell\ me | do\ you\ know
      | what\ is | what's | whats | what\ does | how\ much\ is | how\ much\ does
      | calculate | compute | work\ out | figure\ out | solve | evaluate
      | okay | ok | hey | so | um | uh
    )(?:\s+|\s*,\s*|$)""",
    re.VERBOSE,
)
_SUFFIX = re.compile(
    r"(?:^|\s+|\s*,\s*)(?:please|equals?|make|come\s+to|for\s+me)$|\s*=$",
)

_ERROR_TEXT: dict[ErrorCode, str] = {
    "division_by_zero": "I can't divide by zero.",
    "too_large": "That number is too large for me to work out.",
    "not_real": "That doesn't have a real-number answer.",
}


def strip_question(text: str) -> str:
    """Reduce "Can you tell me what's 3 plus 4, please?" to "3 plus 4"."""
    core = " ".join(text.lower().replace("’", "'").split()).rstrip("?!. ")
    changed = True
    while changed and core:
        stripped = _SUFFIX.sub("", _PREFIX.sub("", core)).strip().rstrip("?!.,")
        changed, core = stripped != core, stripped
    return core


class MathSkill:
    """Arithmetic on digits and English number words."""

    name = "math"

    def answer(self, text: str, context: SkillContext) -> SkillReply | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        core = strip_question(text)
        if not core:
            return None
        try:
            node = parse(tokenize(core))
        except NotMath:
            return None
        if not has_operation(node):
            return None
        expression = render_symbolic(node)
        try:
            value = to_plain(evaluate(node))
        except MathError as error:
            return self._refusal(error.code, expression)
        except OverflowError:  # an exact result too large to show as a float
            return self._refusal("too_large", expression)
        spoken = render_spoken(node)
        return SkillReply(
            skill=self.name,
            text=f"{spoken[0].upper()}{spoken[1:]} is {speak_number(value)}.",
            data={"expression": expression, "value": value},
        )

    def _refusal(self, code: ErrorCode, expression: str) -> SkillReply:
        # Still a math reply: the LLM would only guess at these.
        return SkillReply(
            skill=self.name,
            text=_ERROR_TEXT[code],
            data={"expression": expression, "value": None, "error": code},
        )
