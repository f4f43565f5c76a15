"""Deciding, at a pause, whether the user has finished their turn.

Silence alone cuts off people who pause mid-sentence and makes everyone else wait.
At a candidate pause (about 200 ms) the listener has two opinions ready at once: the
end-of-turn model's probability that the utterance sounds complete (Smart Turn,
:mod:`ballsy.speech.turn_model`), and the speculative transcript. Neither is enough
alone — the model scored "Why do cats purr?" 0.01, and Whisper ends fragments with a
full stop — so :func:`verdict` combines them:

- the words trail off (``and``, ``to``, ``um``, a comma …): **incomplete**, wait up to
  the maximum silence;
- the model is confident, a skill understands the command, or it is a question:
  **complete**, end the turn now;
- otherwise **unsure**: end it after a medium pause, long enough for a hesitation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# Words a finished English sentence rarely ends with: the speaker is still going.
TRAILING_WORDS = frozenset(
    """
    a an the and or but so because if then than that which who whose to of for from
    with without about into onto at by in on as like um uh er erm hmm my your his her
    their our its i i'm we you they it's there's let's very really just also plus
    minus times
    """.split()  # noqa: SIM905 - a word list reads better as prose
)
COMPLETE_AT = 0.5
"""Smart Turn probability from which the utterance counts as finished by its sound."""

_WORDS = re.compile(r"[a-z0-9']+")


class Verdict(Enum):
    COMPLETE = "complete"
    UNSURE = "unsure"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class TurnWaits:
    """Silence (ms, from the end of speech) that ends the turn for each verdict."""

    unsure_ms: int = 900
    max_ms: int = 4000

    def silence_ms(self, verdict: Verdict) -> int:
        if verdict is Verdict.COMPLETE:
            return 0
        return self.unsure_ms if verdict is Verdict.UNSURE else self.max_ms


def verdict(probability: float, text: str, *, understood: bool) -> Verdict:
    """Finished, unsure or still going: ``probability`` from the end-of-turn model,
    ``text`` the speculative transcript, ``understood`` a skill can answer it."""
    stripped = text.strip()
    words = _WORDS.findall(stripped.lower())
    if not words:
        return Verdict.UNSURE  # noise or a sound Whisper could not put into words
    if words[-1] in TRAILING_WORDS or stripped.endswith((",", "...", "…", "-", "—")):
        return Verdict.INCOMPLETE
    if probability >= COMPLETE_AT or understood or stripped.endswith("?"):
        return Verdict.COMPLETE
    return Verdict.UNSURE


def eagerness_waits(eagerness: str, unsure_ms: int = 900) -> TurnWaits:
    """OpenAI's ``semantic_vad`` eagerness: the longest it may wait (auto = medium)."""
    longest = {"low": 8000, "medium": 4000, "high": 2000, "auto": 4000}[eagerness]
    return TurnWaits(unsure_ms=min(unsure_ms, longest), max_ms=longest)
