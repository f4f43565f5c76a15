"""Cutting a streamed reply into speakable pieces as the tokens arrive.

Speech starts as soon as the first sentence is complete. To shorten the wait for a
long first sentence, the first piece may also end at a clause boundary (comma, colon,
semicolon, dash) once it has a few words; later pieces are whole sentences, which
sound more natural.
"""

from __future__ import annotations

import re

from ballsy.speech.tts import split_sentences

_CLAUSE_END = re.compile(r"[,;:\u2014]\s+")
FIRST_CLAUSE_MIN_WORDS = 5


class SentenceBuffer:
    def __init__(self, *, early_first_clause: bool = True) -> None:
        self._text = ""
        self._emitted_any = False
        self._early = early_first_clause

    def push(self, delta: str) -> list[str]:
        """Add streamed text; return the pieces that are now complete."""
        self._text += delta
        pieces: list[str] = []
        sentences = split_sentences(self._text)
        # The last sentence may still be growing unless the text ends in whitespace
        # after its closing punctuation (that is what "complete" looks like mid-stream).
        if len(sentences) > 1:
            complete, last = sentences[:-1], sentences[-1]
            pieces.extend(complete)
            # Keep the raw text of the unfinished sentence (split_sentences may have
            # normalised its whitespace, so find it by its opening words).
            start = self._text.rfind(last[:20])
            self._text = self._text[start:] if start >= 0 else last
        if not pieces and not self._emitted_any and self._early:
            clause = self._first_clause()
            if clause:
                pieces.append(clause)
        if pieces:
            self._emitted_any = True
        return pieces

    def _first_clause(self) -> str | None:
        for match in _CLAUSE_END.finditer(self._text):
            head = self._text[: match.start() + 1].strip()
            if len(head.split()) >= FIRST_CLAUSE_MIN_WORDS:
                self._text = self._text[match.end() :]
                return head
        return None

    def flush(self) -> list[str]:
        """The rest, at the end of the reply."""
        rest = split_sentences(self._text)
        self._text = ""
        return rest
