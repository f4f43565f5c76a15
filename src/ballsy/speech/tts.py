"""Text-to-speech: the engine protocol, sentence splitting and the engine registry.

Engines yield int16 PCM one sentence at a time, so the first sentence can play while
the rest is still being synthesized. Every engine splits text with the same
:func:`split_sentences`, which keeps "Dr. Smith", "e.g. this" and "3.5" in one piece.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ballsy.config import Settings
from ballsy.errors import InvalidInput, UnknownModel
from ballsy.providers import Registry

Int16Array = npt.NDArray[np.int16]

MIN_SPEED: Final = 0.25
MAX_SPEED: Final = 4.0
MAX_SENTENCE_CHARS: Final = 300

# Abbreviations whose period never ends a sentence ("Dr. Who", "e.g. this", "vs. them").
_NEVER_FINAL: Final = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "rev", "fr", "sr", "st", "mt", "gen", "col",
        "capt", "lt", "sgt", "gov", "sen", "rep", "pres", "hon", "e.g", "i.e", "vs", "cf",
        "viz", "approx", "ca", "no", "nos", "fig", "figs", "vol", "p", "pp", "ch", "sec",
        "dept", "est", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip
_SENTENCE_STARTERS: Final = frozenset(
    {
        "i", "the", "a", "an", "it", "we", "he", "she", "they", "you", "this", "that",
        "there", "then", "but", "and", "so", "my", "our", "your", "what", "how", "why",
        "when", "please", "thanks",
    }
)  # fmt: skip
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+\S)")
_CLAUSE = re.compile(r"(?<=[,;:—])\s+")


def split_sentences(text: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split ``text`` into sentences for streaming synthesis.

    Paragraph and line breaks always split. A period does not end a sentence after a
    title or Latin abbreviation, after a single initial ("J. K. Rowling"), inside a
    number ("3.5", "v1.2") or before a lowercase word. Sentences longer than
    ``max_chars`` are cut at clause punctuation so the first audio arrives early.
    """
    sentences: list[str] = []
    for line in re.split(r"\s*\n\s*", text.strip()):
        start = 0
        for match in _BOUNDARY.finditer(line):
            if _ends_sentence(line, match):
                sentences.extend(_cap_length(line[start : match.end()].strip(), max_chars))
                start = match.end()
        sentences.extend(_cap_length(line[start:].strip(), max_chars))
    return [s for s in sentences if any(ch.isalnum() for ch in s)]


def _ends_sentence(line: str, match: re.Match[str]) -> bool:
    rest = line[match.end() :].lstrip()
    next_char = rest[0]
    if next_char.islower():
        return False
    if match.group().startswith((".", "…")) and not match.group().startswith(".."):
        before = line[: match.start()]
        word = re.split(r"[\s(\"“‘'\[]", before)[-1].lower()
        if word in _NEVER_FINAL or word.rstrip(".") in _NEVER_FINAL:
            return False
        if len(word) == 1 and word.isalpha():  # an initial: "J. K. Rowling"
            return False
        if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # "U.S.", "a.m." mid-sentence
            return not next_char.isupper() or _looks_like_sentence_start(rest)
    return True


def _looks_like_sentence_start(rest: str) -> bool:
    """After "U.S." or "p.m.": a following pronoun or article usually starts a sentence."""
    first = rest.split(maxsplit=1)[0].strip("\"'“‘(").lower()
    return first in _SENTENCE_STARTERS


def _cap_length(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    pieces: list[str] = []
    current = ""
    for clause in _CLAUSE.split(sentence):
        if current and len(current) + 1 + len(clause) > max_chars:
            pieces.append(current)
            current = clause
        else:
            current = f"{current} {clause}" if current else clause
    if current:
        pieces.append(current)
    return pieces


def check_speed(speed: float) -> float:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidInput(
            f"speed must be between {MIN_SPEED} and {MAX_SPEED}", detail={"speed": speed}
        )
    return float(speed)


@runtime_checkable
class TextToSpeech(Protocol):
    """A loaded text-to-speech engine. Implementations must be thread-safe."""

    @property
    def name(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def default_voice(self) -> str: ...

    def voices(self) -> list[str]: ...

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0
    ) -> Iterator[Int16Array]:
        """Mono int16 PCM at ``sample_rate``, one array per sentence of ``text``."""
        ...


@dataclass(frozen=True)
class TextToSpeechSpec:
    """A registered engine, described without loading it."""

    name: str
    sample_rate: int
    default_voice: str
    voices: Callable[[], list[str]] = field(repr=False)
    load: Callable[[Settings], TextToSpeech] = field(repr=False)
    description: str = ""

    def resolve_voice(self, voice: str | None) -> str:
        """``voice`` if this engine has it (``None``: the default), else UnknownModel."""
        if voice is None:
            return self.default_voice
        available = self.voices()
        if voice not in available:
            raise UnknownModel(
                f"unknown voice {voice!r} for {self.name}; available: {', '.join(available)}",
                detail={"engine": self.name, "voice": voice, "available": available},
            )
        return voice


TTS_ENGINES: Registry[TextToSpeechSpec] = Registry(
    "text-to-speech engine",
    package="ballsy.speech.tts_engines",
    error=UnknownModel,
    detail_key="engine",
)
"""Every engine, by its TTS_ENGINE name (``speech/tts_engines/`` is imported on first use)."""


def register_tts(spec: TextToSpeechSpec) -> TextToSpeechSpec:
    return TTS_ENGINES.register(spec.name, spec, description=spec.description)


def tts_engines() -> dict[str, TextToSpeechSpec]:
    """Every registered engine, by name."""
    return dict(TTS_ENGINES.items())


def tts_spec(name: str) -> TextToSpeechSpec:
    """The registered engine called ``name``, or :class:`UnknownModel` naming the valid ones."""
    return TTS_ENGINES.get(name)
