"""The end-of-turn verdict: the model's probability and the transcript together."""

from __future__ import annotations

import pytest

from ballsy.realtime.session.turns import TurnWaits, Verdict, eagerness_waits, verdict


@pytest.mark.parametrize(
    "text",
    ["I would like to know about", "add eggs and", "what is twelve times", "so um", "Tell me,"],
)
def test_trailing_words_mean_the_speaker_is_still_going(text: str) -> None:
    assert verdict(0.9, text, understood=False) is Verdict.INCOMPLETE


@pytest.mark.parametrize(
    ("probability", "text", "understood"),
    [
        (0.01, "Why do cats purr?", False),  # the model missed it; the question did not
        (0.2, "What is twelve times seven.", True),  # a skill parses it
        (0.8, "Tell me a joke.", False),
    ],
)
def test_a_complete_utterance_ends_the_turn_at_once(
    probability: float, text: str, understood: bool
) -> None:
    assert verdict(probability, text, understood=understood) is Verdict.COMPLETE


def test_a_quiet_statement_waits_a_hesitation_long() -> None:
    assert verdict(0.05, "I would like to know.", understood=False) is Verdict.UNSURE
    assert verdict(0.3, "", understood=False) is Verdict.UNSURE
    waits = TurnWaits(unsure_ms=900, max_ms=4000)
    assert [waits.silence_ms(v) for v in Verdict] == [0, 900, 4000]


def test_eagerness_sets_the_longest_wait() -> None:
    assert [eagerness_waits(e).max_ms for e in ("low", "medium", "high", "auto")] == [
        8000,
        4000,
        2000,
        4000,
    ]


def test_numbers_are_words_too() -> None:
    assert verdict(0.98, "What is 12 plus 7?", understood=True) is Verdict.COMPLETE
    assert verdict(0.98, "What is 12 plus", understood=False) is Verdict.INCOMPLETE
