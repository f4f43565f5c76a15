"""Markdown into speakable text: what a reply meant for speech is turned into before TTS.

Small models (and big ones, despite the prompt) answer with markdown: "1. Create a
relaxing environment", "**Tip:**", "[the docs](https://…)". Read aloud, that is
"one dot", "asterisk asterisk" and a URL spelled out. :func:`speakable` keeps the
words: list items and headings become sentences, emphasis and code marks go, a link
becomes its text, a bare URL is not read out, tables become their cells. What has no
spoken form goes: a fenced code block (code read aloud is noise; the model is asked
for none), HTML tags and emoji.

:class:`SpokenStream` does the same on a streamed reply, a line at a time: the
markers that matter are at the start of a line or pair up within one, so a line is
released once complete, or earlier, when it is long, up to its last space outside an
open link; speech still starts at the first sentence.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

_FENCE = re.compile(r"^\s*(?:```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_QUOTE = re.compile(r"^\s*>+\s?")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<(?:https?://|mailto:)[^>\s]+>")
# A bare URL, without the brackets or sentence punctuation around it.
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\[\]()]*[^\s<>\[\]().,;:!?'\"]")
_EMPTY_BRACKETS = re.compile(r"\[\s*\]|\(\s*\)")
_DANGLING = re.compile(r"[\s:;,]*\s(?=[.!?])|\s+(?=[,;:])")  # left where a URL went
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~)(?=\S)(.+?)(?<=\S)\1")
_TIMES = re.compile(r"(?<=\d)\s*\*\s*(?=\d)")  # "5 * 3" is arithmetic, not emphasis
_MARKS = re.compile(r"[*`#~]+|(?<!\w)_+|_+(?!\w)")
_TAG = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
# Emoji and pictographs (arrows, technical symbols, shapes, dingbats; not "°", "℃" or
# the math operators: "−5" keeps its sign), and the joiners and selectors that glue them.
_EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2500-\u2bff\U0001f000-\U0001faff\u200d\ufe0e\ufe0f]+"
)
_SENTENCE_END = ".!?:;,"
STREAM_HOLD_CHARS = 12  # past a line's start (where list markers are), release at spaces


def _inline(text: str) -> str:
    text = _TAG.sub(" ", text)
    text = _EMOJI.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub("", text)
    text = _URL.sub("", text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = _TIMES.sub(" times ", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _MARKS.sub("", text)
    return _DANGLING.sub("", " ".join(text.split()))


def _line(raw: str) -> tuple[str, bool]:
    """One line as speech, and whether it stands alone (a heading, item or cell row)."""
    if _RULE.match(raw) or _TABLE_RULE.match(raw) or _FENCE.match(raw):
        return "", False
    alone = bool(_HEADING.match(raw) or _BULLET.match(raw) or raw.strip().startswith("|"))
    text = _QUOTE.sub("", _BULLET.sub("", _HEADING.sub("", raw)))
    if text.strip().startswith("|"):
        cells = [cell.strip() for cell in text.strip().strip("|").split("|")]
        text = ", ".join(cell for cell in cells if cell)
    return _inline(text), alone


def _ended(text: str) -> str:
    return text if not text or text[-1] in _SENTENCE_END else text + "."


def speakable(text: str) -> str:
    """``text`` without markdown, lists and headings as sentences."""
    spoken: list[str] = []
    lines = _outside_code(text.splitlines())
    for index, raw in enumerate(lines):
        line, alone = _line(raw)
        if not line:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        # A line ends its sentence when it is an item or heading, or a paragraph ends.
        if alone or not following.strip() or _BULLET.match(following):
            line = _ended(line)
        spoken.append(line)
    return " ".join(spoken)


def _outside_code(lines: list[str]) -> list[str]:
    """``lines`` without fenced code blocks (an unclosed fence runs to the end)."""
    kept: list[str] = []
    fenced = False
    for raw in lines:
        if _FENCE.match(raw):
            fenced = not fenced
        elif not fenced:
            kept.append(raw)
    return kept


class SpokenStream:
    """:func:`speakable` over a stream of text deltas."""

    def __init__(self) -> None:
        self._line = ""
        self._fenced = False  # inside a fenced code block
        self._continued = False  # the current line was spoken in part already
        self._alone = False
        self._started = False

    def push(self, delta: str) -> str:
        out: list[str] = []
        self._line += delta
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            out.append(self._finish(line))
        out.append(self._partial())
        return "".join(out)

    def flush(self) -> str:
        rest = self._finish(self._line, last=True)
        self._line = ""
        return rest

    def _finish(self, raw: str, *, last: bool = False) -> str:
        if not self._continued and _FENCE.match(raw):
            self._fenced = not self._fenced
            return ""
        if self._fenced:
            return ""
        # The rest of a line spoken in part starts mid-line: no line-start markers.
        line, alone = (_inline(raw), False) if self._continued else _line(raw)
        alone = alone or self._alone
        self._continued, self._alone = False, False
        if not line:
            return ""
        return self._say(_ended(line) if (alone or last or line[-1] not in ",") else line)

    def _partial(self) -> str:
        raw = self._line
        if len(raw) < STREAM_HOLD_CHARS or _inside_link(raw) or self._fenced:
            return ""
        if not self._continued and _FENCE.match(raw):
            return ""  # a fence line opens or closes a block: decided when it ends
        cut = raw.rfind(" ")
        while cut > 0 and _inside_link(raw[:cut]):
            cut = raw.rfind(" ", 0, cut)  # never split a link: its URL would be read out
        if cut <= 0:
            return ""
        head, self._line = raw[:cut], raw[cut + 1 :]
        line, alone = (_inline(head), False) if self._continued else _line(head)
        self._alone = self._alone or alone
        self._continued = True
        return self._say(line)

    def _say(self, text: str) -> str:
        if not text:
            return ""
        spoken = text if not self._started else " " + text
        self._started = True
        return spoken


def _inside_link(raw: str) -> bool:
    """A markdown link ``[text](url)`` is not over yet: its URL must not be read out."""
    if "[" in raw[raw.rfind("]") + 1 :] or raw.rstrip().endswith("]"):
        return True
    target = raw.rfind("](")
    return target >= 0 and ")" not in raw[target + 2 :]


async def spoken_pieces(pieces: AsyncIterator[str]) -> AsyncIterator[str]:
    """The pieces of a streamed reply as speakable text (empty pieces dropped)."""
    stream = SpokenStream()
    try:
        async for piece in pieces:
            said = stream.push(piece)
            if said:
                yield said
        rest = stream.flush()
        if rest:
            yield rest
    finally:
        close = getattr(pieces, "aclose", None)
        if close is not None:
            await close()
