"""Streaming transcripts as Wyoming wants them: chunks that only ever append.

The listener gives two kinds of text per utterance: *partials* (the whole utterance
so far, re-transcribed every second of speech, so earlier words may still change)
and one *final*. ``transcript-chunk`` events are appended by the client, so a chunk
must never need taking back. A word is sent once two partials in a row agree on it
and everything before it (the "local agreement" policy of streaming Whisper), and the
final of an utterance sends whatever is left. Words are compared without case or
punctuation, which Whisper revises freely. The ``transcript`` event at the end carries
the authoritative text, so a rare late revision costs nothing there.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+")


def _key(word: str) -> str:
    return _NOT_WORD.sub("", word.lower())


def _agreed(a: list[str], b: list[str]) -> int:
    """How many leading words two transcripts share."""
    count = 0
    for left, right in zip(a, b, strict=False):
        if _key(left) != _key(right):
            break
        count += 1
    return count


class TranscriptChunks:
    def __init__(self) -> None:
        self.finals: list[str] = []
        self.sent = ""
        """Every chunk so far, joined: what the client has been told."""
        self._sent_words: list[str] = []  # sent for the current utterance
        self._previous: list[str] = []  # the utterance's previous partial

    @property
    def text(self) -> str:
        """The whole transcript: every utterance's final text."""
        return " ".join(self.finals)

    def partial(self, text: str) -> str | None:
        """A partial transcript of the current utterance; the chunk to send, if any."""
        words = text.split()
        stable = words[: _agreed(words, self._previous)]
        self._previous = words
        if _agreed(stable, self._sent_words) < len(self._sent_words):
            return None  # the words already sent are being revised: wait for the final
        fresh = stable[len(self._sent_words) :]
        if not fresh:
            return None
        self._sent_words += fresh
        return self._chunk(fresh)

    def final(self, text: str) -> str | None:
        """The final transcript of an utterance; the chunk to send, if any."""
        words = text.split()
        if words:
            self.finals.append(" ".join(words))
        fresh = words[len(self._sent_words) :]
        self._sent_words, self._previous = [], []
        return self._chunk(fresh) if fresh else None

    def _chunk(self, words: list[str]) -> str:
        piece = " ".join(words)
        chunk = f" {piece}" if self.sent else piece
        self.sent += chunk
        return chunk
