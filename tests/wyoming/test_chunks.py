"""Transcript chunks only ever append: words are sent once two partials agree."""

from __future__ import annotations

from ballsy.wyoming.chunks import TranscriptChunks


def test_words_are_sent_once_two_partials_agree() -> None:
    chunks = TranscriptChunks()
    assert chunks.partial("And so") is None
    assert chunks.partial("And so my fellow") == "And so"
    assert chunks.partial("And so, my fellow Americans") == " my fellow"
    assert chunks.final("And so, my fellow Americans, ask not.") == " Americans, ask not."
    assert chunks.sent == "And so my fellow Americans, ask not."
    assert chunks.text == "And so, my fellow Americans, ask not."


def test_each_utterance_starts_afresh_and_joins_with_a_space() -> None:
    chunks = TranscriptChunks()
    assert chunks.final("One two.") == "One two."
    assert chunks.partial("Three") is None
    assert chunks.final("Three four.") == " Three four."
    assert chunks.text == "One two. Three four."


def test_revised_words_are_never_taken_back() -> None:
    chunks = TranscriptChunks()
    chunks.partial("what your")
    assert chunks.partial("what your country") == "what your"
    assert chunks.partial("what you are country") is None  # a revision: wait
    assert chunks.final("What your country can do.") == " country can do."
    assert chunks.sent == "what your country can do."


def test_an_empty_utterance_adds_nothing() -> None:
    chunks = TranscriptChunks()
    assert chunks.final("") is None
    assert chunks.text == "" and chunks.sent == ""
