"""Cutting streamed text into speakable pieces."""

from __future__ import annotations

from ballsy.realtime.session.sentences import SentenceBuffer


def feed(buffer: SentenceBuffer, text: str) -> list[str]:
    pieces: list[str] = []
    for index in range(0, len(text), 3):  # three characters per token
        pieces.extend(buffer.push(text[index : index + 3]))
    return pieces + buffer.flush()


def test_sentences_come_out_as_soon_as_they_are_complete() -> None:
    buffer = SentenceBuffer(early_first_clause=False)
    assert buffer.push("Hello there. How") == ["Hello there."]
    assert buffer.push(" are you?") == []
    assert buffer.push(" Fine.") == ["How are you?"]
    assert buffer.flush() == ["Fine."]


def test_a_long_first_sentence_is_cut_at_a_clause() -> None:
    text = "When the moon rises over the sea, the tide comes in slowly. Then it goes."
    pieces = feed(SentenceBuffer(), text)
    assert pieces[0] == "When the moon rises over the sea,"
    assert " ".join(pieces).replace("  ", " ") == text


def test_short_first_clauses_are_not_cut() -> None:
    assert feed(SentenceBuffer(), "Yes, I can. Sure.")[0] == "Yes, I can."


def test_nothing_is_lost_or_duplicated() -> None:
    text = "One. Two, three, four, five, six, seven. Eight? Nine! Ten"
    assert " ".join(feed(SentenceBuffer(), text)) == text
